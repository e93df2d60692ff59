package notify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/notify"
)

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadTemplates_UserTemplatesWinOverDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "replies.tmpl", `{{define "reply"}}:rocket: {{.App}} {{.Stage}} → {{.Verb}}{{end}}`)
	writeFile(t, dir, "text.tmpl", `{{define "text"}}[{{.Environment}}] {{.App}}: {{.Verb}}{{end}}`)
	writeFile(t, dir, "README.md", `not a template {{`)
	tpl, err := notify.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, false)
	r.n.Templates = tpl
	calls := r.run(t, basePlan(), happyPath[0])
	if len(calls) != 2 {
		t.Fatalf("calls = %d", len(calls))
	}
	reply := wire(calls[1])
	// The user's generic "reply" beats the default "reply.render".
	if !strings.Contains(reply, ":rocket: checkout render → rendered") || calls[1].Text != "[production] checkout: rendered" {
		t.Errorf("reply = %s", reply)
	}
	// The head keeps the default template.
	if !strings.Contains(wire(calls[0]), "Releasing `registry.example.com/shop/checkout:2b1c0b8f`") {
		t.Errorf("head = %s", wire(calls[0]))
	}
}

func TestLoadTemplates_RejectsBrokenTemplates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := map[string]string{
		"syntax":        `{{define "reply"}}{{.App}{{end}}`,
		"unknown field": `{{define "reply"}}{{.Colour}}{{end}}`,
		"unknown func":  `{{define "reply"}}{{shout .App}}{{end}}`,
	}
	for name, body := range tests {
		path := writeFile(t, dir, strings.ReplaceAll(name, " ", "-")+".tmpl", body)
		if _, err := notify.LoadTemplates(path); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := notify.LoadTemplates(filepath.Join(dir, "missing.tmpl")); err == nil {
		t.Error("missing file: no error")
	}
	if _, err := notify.LoadTemplates(t.TempDir()); err == nil {
		t.Error("folder without templates: no error")
	}
}

func TestTemplates_FailingUserTemplateFallsBackToDefault(t *testing.T) {
	t.Parallel()
	// Valid against the sample view, which has an approval, but fails when
	// there is none yet.
	path := writeFile(t, t.TempDir(), "t.tmpl", `{{define "reply"}}by {{.Approval.Login}}{{end}}`)
	tpl, err := notify.LoadTemplates(path)
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, false)
	r.n.Templates = tpl
	calls := r.run(t, basePlan(), happyPath[0])
	if !strings.Contains(wire(calls[1]), "*render*: rendered") {
		t.Errorf("reply = %s, want the default", wire(calls[1]))
	}
	if !strings.Contains(r.logs.String(), "slack template failed") {
		t.Errorf("logs = %s", r.logs)
	}
}
