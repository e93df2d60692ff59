package cli

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The -update flag may be declared by another test file of this package
// too; package variables are set before init, so this one defers to it.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/")
	}
}

func updating() bool { return flag.Lookup("update").Value.String() == "true" }

// initArgs reads testdata/init/<name>/args, one flag a line.
func initArgs(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "init", name, "args"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"init"}, strings.Fields(string(data))...)
}

// readTree reads every file under dir, by slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestInit_WritesTheSetUpOfAnApp(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"plain-http", "kustomize-istio"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "setup")
			code, stdout, stderr := runCLI(t, nil, append(initArgs(t, name), "--out", out)...)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
			got := readTree(t, out)
			got["../stdout.golden"] = []byte(strings.ReplaceAll(stdout, out, "OUT"))
			wantDir := filepath.Join("testdata", "init", name, "want")
			if updating() {
				if err := os.RemoveAll(wantDir); err != nil {
					t.Fatal(err)
				}
				for p, data := range got {
					f := filepath.Join(wantDir, filepath.FromSlash(p))
					if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(f, data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			want := readTree(t, wantDir)
			wantStdout, err := os.ReadFile(filepath.Join(wantDir, "..", "stdout.golden"))
			if err != nil {
				t.Fatal(err)
			}
			want["../stdout.golden"] = wantStdout
			for p, w := range want {
				if g, ok := got[p]; !ok {
					t.Errorf("%s: not written", p)
				} else if !bytes.Equal(g, w) {
					t.Errorf("%s differs from the golden file (go test -run TestInit -update):\n%s", p, g)
				}
			}
			for p := range got {
				if _, ok := want[p]; !ok {
					t.Errorf("%s: written, but not in %s", p, wantDir)
				}
			}
		})
	}
}

func TestInit_RefusesBadInputNamingTheFlagAndWritesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"app not a DNS label", []string{"--app=Check_out"}, "--app (BG_APP)"},
		{"app too long", []string{"--app=" + strings.Repeat("a", 48)}, "--app (BG_APP)"},
		{"environment climbing out", []string{"--environment=../prod"}, "--environment (BG_ENVIRONMENT)"},
		{"namespace with a newline", []string{"--namespace=shop\nINFO forged"}, `--namespace (BG_NAMESPACE): namespace "shop\nINFO forged"`},
		{"gitops project", []string{"--gitops-project=gitops"}, "--gitops-project (BG_GITOPS_PROJECT)"},
		{"gitops path leaving the repo", []string{"--gitops-path=../other"}, "--gitops-path (BG_GITOPS_PATH)"},
		{"gitops path with a glob", []string{"--gitops-path=production/*"}, "--gitops-path (BG_GITOPS_PATH)"},
		{"argocd server without port", []string{"--argocd-server=argocd.example.com"}, "--argocd-server (BG_ARGOCD_SERVER)"},
		{"argocd app", []string{"--argocd-app=Checkout Prod"}, "--argocd-app (BG_ARGOCD_APP)"},
		{"argocd project", []string{"--argocd-project=a/b"}, "--argocd-project (BG_ARGOCD_PROJECT)"},
		{"repo url with a password", []string{"--argocd-repo-url=https://u:secret@gitlab.example.com/g.git"}, "--argocd-repo-url (BG_ARGOCD_REPO_URL)"},
		{"repo url with a quote", []string{`--argocd-repo-url=https://gitlab.example.com/g.git"x`}, "--argocd-repo-url (BG_ARGOCD_REPO_URL)"},
		{"account", []string{"--argocd-account=admin,role:admin"}, "--argocd-account (BG_ARGOCD_ACCOUNT)"},
		{"prometheus", []string{"--prometheus=prometheus:9090"}, "--prometheus (BG_PROMETHEUS_URL)"},
		{"metrics family", []string{"--metrics=statsd"}, `--metrics (BG_INIT_METRICS): "statsd" is not one of http, grpc, istio`},
		{"checks leaving the repo", []string{"--checks=../checks.yaml"}, "--checks (BG_CHECKS)"},
		{"checks inside a plain manifests folder", []string{"--checks=testdata/init/plain-http/manifests/checks.yaml"}, "where render would read it as a manifest"},
		{"manifests absolute", []string{"--manifests=" + must(filepath.Abs("testdata/init/plain-http/manifests"))}, "--manifests (BG_MANIFESTS)"},
		{"manifests missing", []string{"--manifests=testdata/init/none"}, "--manifests (BG_MANIFESTS)"},
		{"slack channel", []string{"--slack-channel=#deploys\n"}, "--slack-channel (BG_SLACK_CHANNEL)"},
		{"component version", []string{"--component-version=1.0 ; rm"}, "--component-version (BG_INIT_COMPONENT_VERSION)"},
		{"two Deployments without --deployment", []string{"--manifests=testdata/init/kustomize-istio/manifests/overlays/prod", "--namespace=shop", "--checks=deploy/checks.yaml"}, "choose the one to colour with --deployment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "setup")
			code, stdout, stderr := runCLI(t, nil, append(append(initArgs(t, "plain-http"), "--out", out), tt.args...)...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, want 2 with %q\nstdout: %s\nstderr: %s", code, tt.want, stdout, stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was created", out)
			}
		})
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

func TestInit_RefusesANonEmptyOutUnlessForced(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	mine := filepath.Join(out, "mine.txt")
	if err := os.WriteFile(mine, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, nil, append(initArgs(t, "plain-http"), "--out", out)...)
	if code != 2 || !strings.Contains(stderr, "--out (BG_INIT_OUT)") || !strings.Contains(stderr, "--force") {
		t.Fatalf("exit %d, want 2 naming --out and --force: %s", code, stderr)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 1 {
		t.Fatalf("%d entries in --out after a refusal, want only mine.txt", len(entries))
	}
	code, stdout, stderr := runCLI(t, nil, append(initArgs(t, "plain-http"), "--out", out, "--force")...)
	if code != 0 {
		t.Fatalf("--force: exit %d\n%s%s", code, stdout, stderr)
	}
	if data, err := os.ReadFile(mine); err != nil || string(data) != "keep" {
		t.Errorf("--force changed a file init does not write: %q, %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(out, "NEXT-STEPS.txt")); err != nil {
		t.Error(err)
	}

	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, nil, append(initArgs(t, "plain-http"), "--out", file, "--force")...); code != 2 || !strings.Contains(stderr, "is a file") {
		t.Errorf("--out a file: exit %d: %s", code, stderr)
	}
}

func TestInit_HelpExplainsEveryFileAndFlag(t *testing.T) {
	t.Parallel()
	code, stdout, _ := runCLI(t, nil, "init", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"applying nothing", "argocd/application.yaml", "selfHeal", "kubernetes/rbac.yaml", "NEXT-STEPS.txt",
		"--metrics value", "$BG_INIT_METRICS", "http (http_requests_total", "grpc (grpc_server_handled_total", "istio (istio_requests_total",
		"--force", "--argocd-repo-url value", "--gitops-path value", "--out value", "bluegreen doctor",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("init --help lacks %q:\n%s", want, stdout)
		}
	}
}

func TestInit_ComponentVersionFollowsTheBinary(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ asked, binary, want string }{
		{"", "dev", "~latest"}, {"", "v1.4.0", "1.4.0"}, {"", "1.4.0", "1.4.0"}, {"", "v1.4.0-3-gabc", "~latest"}, {"main", "v1.4.0", "main"},
	} {
		if got := componentVersion(tt.asked, tt.binary); got != tt.want {
			t.Errorf("componentVersion(%q, %q) = %q, want %q", tt.asked, tt.binary, got, tt.want)
		}
	}
}
