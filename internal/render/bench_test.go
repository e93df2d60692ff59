package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/plan"
)

// BenchmarkRender renders microservices-demo ×10 (about 350 objects, each
// copy in its own namespace) from a file: parse, rules, encode and write.
// Run: go test ./internal/render -run '^$' -bench BenchmarkRender -benchmem
func BenchmarkRender(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("testdata", "input", "microservices-demo.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	var all strings.Builder
	for i := 0; i < 10; i++ {
		// Each copy in its own namespace, as ten environments would be.
		doc := strings.ReplaceAll(string(src), "metadata:\n  name:", "metadata:\n  namespace: ns"+string(rune('a'+i))+"\n  name:")
		all.WriteString(doc + "\n---\n")
	}
	dir := b.TempDir()
	in := filepath.Join(dir, "manifests.yaml")
	if err := os.WriteFile(in, []byte(all.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	objs, err := Load(in)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(objs)), "objects")
	r := Rules{App: "frontend", Image: "r.example.com/frontend:v2", Deployment: "frontend", Namespace: "nsa", Live: plan.Blue}
	b.ResetTimer()
	for b.Loop() {
		objs, err := Load(in)
		if err != nil {
			b.Fatal(err)
		}
		res, err := Apply(r, objs)
		if err != nil {
			b.Fatal(err)
		}
		out, err := Encode(res)
		if err != nil {
			b.Fatal(err)
		}
		p := &plan.Plan{App: r.App, Rendered: out.Rendered()}
		if err := Write(filepath.Join(dir, "out"), out, p); err != nil {
			b.Fatal(err)
		}
	}
}
