package config

import (
	"context"
	"flag"
	"io"
	"strings"
	"testing"
)

func loadDrift(t *testing.T, env map[string]string, args ...string) (*Drift, error) {
	t.Helper()
	fs := flag.NewFlagSet("drift", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var d Drift
	b := Bind(fs, &d)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if err := b.Load(context.Background(), lookup); err != nil {
		return nil, err
	}
	return &d, d.Validate()
}

func TestDrift_ValidateNamesEachMissingSetting(t *testing.T) {
	t.Parallel()
	base := map[string]string{"BG_GITOPS_PROJECT": "platform/gitops", "BG_GITLAB_TOKEN": token, "CI_API_V4_URL": "https://gitlab.example.com/api/v4"}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // "" means valid
	}{
		{"every app of the namespace, no Argo CD", nil, nil, ""},
		{"Argo CD without a token", map[string]string{"BG_ARGOCD_SERVER": "argocd:443"}, nil, "BG_ARGOCD_TOKEN"},
		{"--fix needs Argo CD", nil, []string{"--fix"}, "BG_ARGOCD_SERVER"},
		{"no GitLab token", map[string]string{"BG_GITLAB_TOKEN": ""}, nil, "BG_GITLAB_TOKEN"},
		{"a negative keep", nil, []string{"--keep-revisions", "-1"}, "BG_DRIFT_KEEP_REVISIONS"},
		{"{app} in the GitOps path", map[string]string{"BG_GITOPS_PATH": "production/{app}"}, nil, ""},
	}
	for _, tt := range tests {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range tt.env {
			env[k] = v
		}
		d, err := loadDrift(t, env, tt.args...)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: err = %v, want it to name %s", tt.name, err, tt.want)
		case strings.Contains(fmtErr(err), token):
			t.Errorf("%s: the error leaks the token", tt.name)
		}
		if tt.want == "" && err == nil && (d.IssueLabel != "bluegreen-drift" || d.Timeout <= 0) {
			t.Errorf("%s: defaults = %+v", tt.name, d)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
