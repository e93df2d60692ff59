package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestFlowT_FatalEndsTheFlowAndCleanupsRunInReverse(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	var order []string
	f := newFlowT("demo-test", &out)
	ok := f.run(func(t *flowT) {
		t.Cleanup(func() { order = append(order, "first") })
		t.Cleanup(func() { order = append(order, "second") })
		t.Fatalf("argocd: %s", "down")
		order = append(order, "after fatal")
	})
	if ok || !f.Failed() {
		t.Error("a fatal flow reported success")
	}
	if strings.Join(order, ",") != "second,first" {
		t.Errorf("ran %v, want the cleanups last-first and nothing after Fatal", order)
	}
	if !strings.Contains(out.String(), "✗ argocd: down") {
		t.Errorf("the failure is not printed: %q", out.String())
	}
}

func TestPrefixWriter_IndentsWholeLines(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	p := &prefixWriter{w: &out, prefix: "  | "}
	for _, chunk := range []string{"render starting\nrender $ blue", "green render\n", "tail"} {
		if _, err := p.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	p.flush()
	want := "  | render starting\n  | render $ bluegreen render\n  | tail\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
