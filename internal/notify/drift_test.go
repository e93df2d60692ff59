package notify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/drift"
)

func TestDriftMessage_EscapesScrubsAndLinks(t *testing.T) {
	t.Parallel()
	d := DriftAnnouncer{Templates: DefaultTemplates(), Scrub: strings.NewReplacer("s3cret-token", "[redacted]").Replace}
	text, err := d.Templates.drift(d.view(drift.Announcement{
		Environment: "production", Drift: true,
		Title:    "Drift in production: 1 dangerous finding.",
		Lines:    []string{"shop active: selects <blue> & not green", "--fix shop reconcile failed: GET https://x/?private_token=s3cret-token"},
		IssueURL: "https://gitlab.example.com/g/p/-/issues/7", JobURL: "https://gitlab.example.com/g/p/-/jobs/9",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := ":rotating_light: *Drift in production: 1 dangerous finding.*\n" +
		"• shop active: selects &lt;blue&gt; &amp; not green\n" +
		"• --fix shop reconcile failed: GET https://x/?private_token=[redacted]\n" +
		"<https://gitlab.example.com/g/p/-/issues/7|issue> · <https://gitlab.example.com/g/p/-/jobs/9|drift job>"
	if text != want {
		t.Errorf("text:\n%s\nwant:\n%s", text, want)
	}

	cleared, err := d.Templates.drift(d.view(drift.Announcement{Environment: "production", Title: "Drift in production cleared: clean."}))
	if err != nil || cleared != ":white_check_mark: *Drift in production cleared: clean.*" {
		t.Errorf("cleared = %q, %v", cleared, err)
	}
}

func TestDriftTemplate_UserOverrideIsCheckedAgainstDriftsData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.tmpl")
	if err := os.WriteFile(good, []byte(`{{define "drift"}}{{.Emoji}} {{.Environment}}: {{len .Lines}} line(s){{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := LoadTemplates(good)
	if err != nil {
		t.Fatal(err)
	}
	text, err := tpl.drift(DriftView{Emoji: ":x:", Environment: "staging", Lines: []string{"a", "b"}})
	if err != nil || text != ":x: staging: 2 line(s)" {
		t.Errorf("text = %q, %v", text, err)
	}
	bad := filepath.Join(dir, "bad.tmpl")
	if err := os.WriteFile(bad, []byte(`{{define "drift"}}{{.Stage}}{{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTemplates(bad); err == nil || !strings.Contains(err.Error(), "Stage") {
		t.Errorf("a drift template naming a field drift's data lacks: %v", err)
	}
}
