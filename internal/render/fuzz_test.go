package render

import (
	"os"
	"path/filepath"
	"testing"

	"gitlab.com/platform/bluegreen/internal/plan"
)

// FuzzParse feeds arbitrary bytes to the manifest parser and, when they
// parse, to the rules. Neither may panic, and every parsed object must have
// the identity the rules rely on. Run: go test ./internal/render -fuzz FuzzParse
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "input", "*", "*.yaml"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("kind: List\napiVersion: v1\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"))
	f.Add([]byte("---\n# only a comment\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		for _, o := range objs {
			if o.GetKind() == "" || o.GetName() == "" || o.GetAPIVersion() == "" {
				t.Fatalf("parsed an object without identity: %v", o.Object)
			}
		}
		res, err := Apply(Rules{App: "app", Image: "r.example.com/a:1", Live: plan.Blue}, objs)
		if err != nil {
			return
		}
		if _, err := Encode(res); err != nil {
			t.Fatalf("rules accepted input that cannot be encoded: %v", err)
		}
	})
}
