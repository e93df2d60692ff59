package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/verify"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if the change is right)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// junitDoc is what a JUnit consumer reads.
type junitDoc struct {
	XMLName xml.Name `xml:"testsuites"`
	Tests   int      `xml:"tests,attr"`
	Suites  []struct {
		Cases []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			Out string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestReport_TableAndJUnitCarryTheNumbers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		family string
		seed   uint64
	}{{"bad-error-rate", 3}, {"good", 1}, {"blue-missing", 1}, {"no-traffic", 1}} {
		t.Run(tt.family, func(t *testing.T) {
			t.Parallel()
			st, _, _, _ := stageFor(t, tt.family, tt.seed, replayed)
			rep, err := st.Verify(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			var table bytes.Buffer
			rep.PrintTable(&table)
			golden(t, "table-"+tt.family+".golden", table.Bytes())
			data, err := rep.JUnit()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "junit-"+tt.family+".golden.xml", data)

			var doc junitDoc
			if err := xml.Unmarshal(data, &doc); err != nil {
				t.Fatalf("invalid XML: %v", err)
			}
			if doc.Tests != len(rep.Checks) || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != len(rep.Checks) {
				t.Fatalf("want one testcase per check: %+v", doc)
			}
			for i, c := range doc.Suites[0].Cases {
				cr := rep.Checks[i]
				if c.Name != cr.Check.Name || !strings.Contains(c.Out, "query: "+cr.Query) {
					t.Errorf("testcase %d: %s, system-out %q", i, c.Name, c.Out)
				}
				if cr.Verdict == verify.Fail {
					if c.Failure == nil || !strings.Contains(c.Failure.Message, cr.Target.String()) || !strings.Contains(c.Failure.Message, cr.Threshold) {
						t.Errorf("%s: failure message must carry the value and the threshold: %+v", c.Name, c.Failure)
					}
				}
			}
			if !strings.Contains(table.String(), rep.Checks[0].Query) {
				t.Errorf("the table must show the query as sent:\n%s", table.String())
			}
		})
	}
}

func TestReport_RecordSurvivesJSON(t *testing.T) {
	t.Parallel()
	st, _, _, _ := stageFor(t, "no-traffic", 1, replayed)
	rep, err := st.Verify(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep.Record())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"target":"NaN"`) {
		t.Errorf("NaN values must be kept as \"NaN\": %s", b)
	}
	var back plan.Verification
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Result != "fail" || len(back.Checks) != 2 || back.Checks[0].Values[0].Target == nil {
		t.Errorf("round trip: %+v", back)
	}
}
