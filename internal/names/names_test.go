package names

import (
	"strings"
	"testing"
)

func TestChecks_RefuseWhatTheApiserverOrAFolderWouldNot(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 64)
	tests := []struct {
		name string
		err  error
		want string // "" for valid; else a part of the message
	}{
		{"configmap subdomain", Object("ConfigMap", "web.config-1"), ""},
		{"an RBAC name may hold a colon", Object("ClusterRole", "system:controller:web"), ""},
		{"an RBAC name is one path segment", Object("RoleBinding", "web/../admin"), "may not contain '/'"},
		{"path in a name", Object("ConfigMap", "x/../../blue/deployment-web-blue"), "invalid"},
		{"newline in a name", Object("ConfigMap", "web\nforged log line"), `"web\nforged log line"`},
		{"upper case", Object("Deployment", "Web"), "invalid"},
		{"service with a dot", Object("Service", "web.v1"), "invalid"},
		{"service too long", Object("Service", long), "invalid"},
		{"subdomain too long", Object("Secret", strings.Repeat("a", 254)), "invalid"},
		{"no name", Object("Secret", ""), "no name"},
		{"namespace", Namespace("shop"), ""},
		{"namespace with a dot", Namespace("shop.prod"), "invalid"},
		{"app", App("checkout"), ""},
		{"app too long for the preview", App(strings.Repeat("a", MaxPreviewService+1)), "-preview"},
		{"app with a quote", App(`web"}`), "invalid"},
		{"environment", Environment("production"), ""},
		{"environment climbing out", Environment("prod/../other-app"), "GitOps folder"},
		{"a review app's environment", Environment("review/fix-login"), ""},
		{"environment with an empty part", Environment("review//x"), "GitOps folder"},
		{"environment with a trailing slash", Environment("review/"), "GitOps folder"},
		{"colour", Color("green", false), ""},
		{"none when allowed", Color("none", true), ""},
		{"none when not", Color("none", false), "not blue or green"},
		{"purple", Color("purple", true), "not blue, green or none"},
		{"rel path", RelPath("green/deployment-web-green.yaml"), ""},
		{"dot dot", RelPath("green/../../etc/passwd"), "leaves its folder"},
		{"absolute", RelPath("/etc/passwd"), "leaves its folder"},
		{"not clean", RelPath("green//a.yaml"), "not clean"},
		{"dot element", RelPath("./green/a.yaml"), "not clean"},
		{"backslash", RelPath(`green\..\a`), "backslash"},
		{"control", RelPath("green/a\x00.yaml"), "control character"},
		{"empty", RelPath(""), "empty"},
		{"under", Under("shared/service-web.yaml", "blue", "green", "shared"), ""},
		{"under another folder", Under("other/x.yaml", "blue", "green", "shared"), "not inside"},
		{"a bare folder name", Under("blue", "blue", "green", "shared"), "not inside"},
	}
	for _, tt := range tests {
		switch {
		case tt.want == "" && tt.err != nil:
			t.Errorf("%s: %v, want valid", tt.name, tt.err)
		case tt.want != "" && tt.err == nil:
			t.Errorf("%s: valid, want an error with %q", tt.name, tt.want)
		case tt.want != "" && !strings.Contains(tt.err.Error(), tt.want):
			t.Errorf("%s: %v, want %q in it", tt.name, tt.err, tt.want)
		}
		if tt.err != nil && strings.Contains(tt.err.Error(), "\n") {
			t.Errorf("%s: the message holds a raw newline: %q", tt.name, tt.err)
		}
	}
}
