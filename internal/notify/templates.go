package notify

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
)

//go:embed templates/default.tmpl
var defaultFS embed.FS

// Templates renders message text: the user's templates first, bluegreen's
// defaults for whatever they do not define.
type Templates struct {
	user *template.Template // nil: defaults only
	def  *template.Template
}

func funcs() template.FuncMap {
	return template.FuncMap{
		// link makes a Slack link; the text is escaped, the URL kept whole.
		"link": func(url, text string) string {
			if url == "" {
				return text
			}
			url = strings.NewReplacer("<", "%3C", ">", "%3E", "|", "%7C").Replace(url)
			return "<" + url + "|" + text + ">"
		},
		// code wraps text in backticks, unless it is empty.
		"code": func(s string) string {
			if s == "" {
				return ""
			}
			return "`" + strings.ReplaceAll(s, "`", "'") + "`"
		},
	}
}

// DefaultTemplates returns bluegreen's built-in templates.
func DefaultTemplates() *Templates {
	def := template.Must(template.New("default").Funcs(funcs()).ParseFS(defaultFS, "templates/default.tmpl"))
	return &Templates{def: def}
}

// LoadTemplates reads path, a template file or a folder of *.tmpl files,
// over the defaults. Each file defines templates by name
// ({{define "reply.verify"}}...{{end}}); see templates/default.tmpl.
func LoadTemplates(path string) (*Templates, error) {
	t := DefaultTemplates()
	if path == "" {
		return t, nil
	}
	files := []string{path}
	if st, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("slack templates: %w", err)
	} else if st.IsDir() {
		files, _ = filepath.Glob(filepath.Join(path, "*.tmpl"))
		if len(files) == 0 {
			return nil, fmt.Errorf("slack templates: no *.tmpl file in %s", path)
		}
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("slack templates: %w", err)
		}
		if st.Size() > MaxTemplateFileSize {
			return nil, fmt.Errorf("slack templates: %s is %d bytes; at most %d (notify.MaxTemplateFileSize)", f, st.Size(), MaxTemplateFileSize)
		}
	}
	user, err := template.New("user").Funcs(funcs()).Option("missingkey=error").ParseFiles(files...)
	if err != nil {
		return nil, fmt.Errorf("slack templates: %w", err)
	}
	for _, tt := range user.Templates() {
		if tt.Tree != nil {
			if err := checkRanges(tt.Name(), tt.Tree.Root, 0); err != nil {
				return nil, err
			}
		}
	}
	// Check each template against a sample view now, so that a typo in a
	// field name is a configuration error, not a broken message later.
	for _, tt := range user.Templates() {
		if tt.Tree == nil || strings.HasSuffix(tt.Name(), ".tmpl") {
			continue
		}
		var sample any = sampleView()
		if tt.Name() == driftTemplate {
			sample = sampleDriftView()
		}
		if err := tt.Execute(&limitedWriter{max: MaxMessageSize}, sample); err != nil {
			return nil, fmt.Errorf("slack templates: %w", err)
		}
	}
	t.user = user
	return t, nil
}

// driftTemplate is the name of drift's message template; its data is a
// DriftView, not a View.
const driftTemplate = "drift"

// drift renders drift's message.
func (t *Templates) drift(v DriftView) (string, error) { return t.execute(v, driftTemplate) }

// render executes the first of names that is defined, the user's templates
// before the defaults. When a template fails and a later one stands in, it
// returns the text and the failure.
func (t *Templates) render(v View, names ...string) (string, error) { return t.execute(v, names...) }

func (t *Templates) execute(v any, names ...string) (string, error) {
	var errs []string
	for _, set := range []*template.Template{t.user, t.def} {
		if set == nil {
			continue
		}
		for _, name := range names {
			tt := set.Lookup(name)
			if tt == nil {
				continue
			}
			b := &limitedWriter{max: MaxMessageSize}
			if err := tt.Execute(b, v); err != nil {
				errs = append(errs, err.Error())
				continue // fall back to the next candidate
			}
			if len(errs) > 0 {
				return strings.TrimSpace(string(b.buf)), fmt.Errorf("slack template: %s", strings.Join(errs, "; "))
			}
			return strings.TrimSpace(string(b.buf)), nil
		}
	}
	if len(errs) > 0 {
		return "", fmt.Errorf("slack template: %s", strings.Join(errs, "; "))
	}
	return "", fmt.Errorf("slack template: none of %v is defined", names)
}

func sampleView() View {
	return View{
		App: "app", Environment: "production", Namespace: "app", Stage: "verify", Result: "ok", OK: true,
		Verb: "passed", Emoji: ":white_check_mark:", Message: "message", Duration: "1s", Live: "blue", LiveNow: "blue", Target: "green",
		Image: "registry.example.com/app:1", Commit: "0123456789abcdef", CommitShort: "01234567",
		Approval: &ApprovalView{Login: "alice", Name: "Alice", Reason: "reason", Rules: nil},
		Checks:   []CheckView{{Name: "error-rate", Verdict: "pass", Emoji: ":white_check_mark:", Value: "0.1% (max 1%)"}},
		Details:  []Detail{{Key: "k", Value: "v"}},
		Progress: []StageView{{Name: "render", Result: "ok", Emoji: ":white_check_mark:"}},
		Links:    Links{Pipeline: "https://gitlab.example.com/p", Job: "https://gitlab.example.com/j", Play: "https://gitlab.example.com/j"},
	}
}
