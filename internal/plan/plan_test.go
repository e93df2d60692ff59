package plan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPlan_SaveLoadRoundTripAndAppend(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	p := &Plan{App: "checkout", Namespace: "shop", Image: "r.example.com/c:1", LiveColor: Blue, TargetColor: Green, CreatedAt: at}
	p.Append(Result{Stage: Render, Outcome: "ok", Started: at, Finished: at.Add(time.Second)})
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Schema != SchemaVersion || got.App != "checkout" || got.TargetColor != Green || len(got.Ledger) != 1 {
		t.Fatalf("round trip lost data: %+v", got)
	}
	got.Append(Result{Stage: Sync, Outcome: "external", Started: at, Finished: at})
	got.Append(Result{Stage: Sync, Outcome: "ok", Started: at, Finished: at.Add(time.Minute)})
	if err := got.Save(dir); err != nil {
		t.Fatal(err)
	}
	again, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	last, ok := again.Last("sync")
	if !ok || last.Outcome != "ok" || len(again.Ledger) != 3 {
		t.Fatalf("Last(sync) = %+v %v; ledger %d", last, ok, len(again.Ledger))
	}
	if _, ok := again.Last("promote"); ok {
		t.Fatal("Last found a stage that never ran")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".plan.json.*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary files left behind: %v", leftovers)
	}
}

func TestLoad_RefusesNewerSchemaMissingAndGarbage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content, want string
	}{
		{"newer schema", `{"schema": 99, "app": "x"}`, "schema version 99 is newer than this bluegreen understands (3)"},
		{"no schema", `{"app": "x"}`, "missing or invalid schema version"},
		{"not json", `schema: 1`, "not a plan"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := Load(t.TempDir()); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing plan: err = %v, want ErrNotFound", err)
	}
}

func TestColor(t *testing.T) {
	t.Parallel()
	if Blue.Other() != Green || Green.Other() != Blue || None.Other() != Blue {
		t.Error("Other is wrong")
	}
	for _, s := range []string{"blue", "green", "none"} {
		if _, err := ParseColor(s); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParseColor("Blue"); err == nil {
		t.Error("ParseColor accepted Blue")
	}
}

func TestDotenv(t *testing.T) {
	t.Parallel()
	b, err := Dotenv(map[string]string{"B": "2", "A": "1"})
	if err != nil || string(b) != "A=1\nB=2\n" {
		t.Fatalf("Dotenv = %q, %v", b, err)
	}
	if _, err := Dotenv(map[string]string{"A": "x\ny"}); err == nil {
		t.Fatal("a multi-line value was accepted")
	}
}

func TestAppend_MasksURLCredentials(t *testing.T) {
	t.Parallel()
	var p Plan
	p.Append(Result{Stage: "sync", Message: "GET https://gitlab.example.com/api/v4/x?private_token=s3cret-token: 401",
		Details: map[string]string{"url": "https://u:hunter2@argocd.example.com/"}})
	r := p.Ledger[0]
	if strings.Contains(r.Message, "s3cret-token") || strings.Contains(r.Details["url"], "hunter2") {
		t.Errorf("ledger keeps a credential: %+v", r)
	}
	if !strings.Contains(r.Message, "gitlab.example.com") {
		t.Errorf("masked too much: %q", r.Message)
	}
}
