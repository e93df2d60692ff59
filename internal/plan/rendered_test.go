package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

func TestReadRendered_RefusesWhatRenderNeverWrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rendered := filepath.Join(dir, RenderedDir)
	if err := os.MkdirAll(filepath.Join(rendered, "green", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "token")
	write := func(name, data string) string {
		if err := os.WriteFile(filepath.Join(rendered, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(data))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	good := write("green/deployment-web-green.yaml", "kind: Deployment\n")
	secretDigest := func() string {
		if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte("s3cret"))
		return "sha256:" + hex.EncodeToString(sum[:])
	}()
	if err := os.Symlink(secret, filepath.Join(rendered, "green", "out.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("deployment-web-green.yaml", filepath.Join(rendered, "green", "in.yaml")); err != nil {
		t.Fatal(err)
	}
	big := write("green/big.yaml", strings.Repeat("x", MaxRenderedFileSize+1))
	p := &Plan{Rendered: Rendered{Dir: RenderedDir}}
	tests := []struct {
		name string
		o    Object
		want string // "" for a good read
	}{
		{"a rendered file", Object{File: "green/deployment-web-green.yaml", Digest: good}, ""},
		{"a symlink to a runner's secret, digest forged to match", Object{File: "green/out.yaml", Digest: secretDigest}, "symlink"},
		{"a symlink inside", Object{File: "green/in.yaml", Digest: good}, "symlink"},
		{"a folder", Object{File: "green/sub", Digest: good}, "not a regular file"},
		{"too large", Object{File: "green/big.yaml", Digest: big}, "MaxRenderedFileSize"},
		{"edited after render", Object{File: "green/deployment-web-green.yaml", Digest: "sha256:" + strings.Repeat("0", 64)}, "changed after render"},
		{"missing", Object{File: "green/none.yaml", Digest: good}, "pass the render job's artifacts"},
	}
	for _, tt := range tests {
		data, err := p.ReadRendered(dir, tt.o)
		switch {
		case tt.want == "" && (err != nil || string(data) != "kind: Deployment\n"):
			t.Errorf("%s: %q, %v", tt.name, data, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || outcome.KindOf(err) != outcome.Usage):
			t.Errorf("%s: %v (%v), want a usage error naming %q", tt.name, err, outcome.KindOf(err), tt.want)
		case tt.want != "" && strings.Contains(string(data), "s3cret"):
			t.Errorf("%s: read the secret", tt.name)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ReadRendered(dir, Object{File: "../plan.json"}); err == nil {
		t.Error("a path out of rendered/ was read")
	}
}
