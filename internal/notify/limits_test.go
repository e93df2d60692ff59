package notify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTemplate(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "t.tmpl")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadTemplates_RefusesWhatBreaksTheLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, want string
	}{
		{"output bomb", `{{define "reply"}}{{range .Checks}}{{range $.Progress}}` + strings.Repeat("x", 50000) + `{{end}}{{end}}{{end}}`, "MaxMessageSize"},
		{"ranges nested three deep", `{{define "reply"}}{{range .Checks}}{{range $.Progress}}{{range $.Details}}.{{end}}{{end}}{{end}}{{end}}`, "MaxRangeDepth"},
		{"a nested range hidden in an if", `{{define "reply"}}{{range .Checks}}{{if .Name}}{{range $.Progress}}{{range $.Details}}.{{end}}{{end}}{{end}}{{end}}{{end}}`, "MaxRangeDepth"},
		{"a template called in a loop", `{{define "x"}}{{range .Checks}}.{{end}}{{end}}{{define "reply"}}{{range .Checks}}{{template "x" $}}{{end}}{{end}}`, "inside a range"},
		{"file too large", `{{define "reply"}}` + strings.Repeat("x", MaxTemplateFileSize) + `{{end}}`, "MaxTemplateFileSize"},
	}
	for _, tt := range tests {
		_, err := LoadTemplates(writeTemplate(t, tt.text))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming %s", tt.name, err, tt.want)
		}
	}
	if _, err := LoadTemplates(writeTemplate(t, `{{define "reply"}}{{range .Checks}}{{range $.Progress}}{{.Name}}{{end}}{{end}}{{end}}`)); err != nil {
		t.Errorf("two nested ranges are within the limits: %v", err)
	}
}

func TestRender_StopsAtMaxMessageSizeAndFallsBack(t *testing.T) {
	t.Parallel()
	tpl, err := LoadTemplates(writeTemplate(t, `{{define "reply"}}{{range .Checks}}{{.Name}}{{end}}{{end}}`))
	if err != nil {
		t.Fatal(err)
	}
	v := sampleView()
	for i := 0; i < 5000; i++ {
		v.Checks = append(v.Checks, CheckView{Name: strings.Repeat("n", 20)})
	}
	text, err := tpl.render(v, "reply")
	if err == nil || !strings.Contains(err.Error(), "MaxMessageSize") {
		t.Errorf("err = %v, want the limit named", err)
	}
	if len(text) > MaxMessageSize || text == "" {
		t.Errorf("text is %d bytes: want the default template's reply", len(text))
	}
}

// FuzzTemplates loads any template text and renders it: it must never
// panic, and what it renders stays within MaxMessageSize.
func FuzzTemplates(f *testing.F) {
	for _, s := range []string{
		`{{define "reply"}}{{.Emoji}} *{{.Stage}}*{{end}}`,
		`{{define "head"}}{{range .Checks}}{{.Name}} {{.Value}}{{end}}{{end}}`,
		`{{define "drift"}}{{.Title}}{{range .Lines}}{{.}}{{end}}{{end}}`,
		`{{define "reply"}}{{link .Links.Job "job"}} {{code .Image}}{{end}}`,
		`{{define "reply"}}{{range .Checks}}{{range $.Progress}}{{.Name}}{{end}}{{end}}{{end}}`,
		`{{define "reply"}}{{template "reply"}}{{end}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 4096 {
			return
		}
		p := filepath.Join(t.TempDir(), "f.tmpl")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		tpl, err := LoadTemplates(p)
		if err != nil {
			return
		}
		for _, name := range []string{"text", "head", "reply", "reply.verify"} {
			if out, _ := tpl.render(sampleView(), name); len(out) > MaxMessageSize {
				t.Fatalf("%s rendered %d bytes", name, len(out))
			}
		}
		if out, _ := tpl.drift(sampleDriftView()); len(out) > MaxMessageSize {
			t.Fatalf("drift rendered %d bytes", len(out))
		}
	})
}
