package templates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// input is one spec:inputs entry, as GitLab reads it.
type input struct {
	Name        string
	Type        string
	Default     any // nil when the input is required
	HasDefault  bool
	Options     []any
	Regex       string
	Description string
}

// template is one component: the header's inputs, in order, and the jobs.
type template struct {
	Name   string // file name without .yml: the component's name
	Path   string
	Header string // the first YAML document, spec:
	Body   string // the second YAML document, the jobs (or includes)
	Inputs []input
}

func (tpl *template) input(name string) (input, bool) {
	for _, in := range tpl.Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return input{}, false
}

// loadTemplates reads every component in this folder, sorted by name.
func loadTemplates(t *testing.T) []*template {
	t.Helper()
	paths, err := filepath.Glob("*.yml")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	if len(paths) < 8 {
		t.Fatalf("only %d component templates: %v", len(paths), paths)
	}
	var out []*template
	for _, p := range paths {
		tpl, err := parseTemplate(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tpl)
	}
	return out
}

func parseTemplate(path string) (*template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	header, body, ok := strings.Cut(string(data), "\n---\n")
	if !ok {
		return nil, fmt.Errorf("%s: no `---` between the spec header and the jobs", path)
	}
	tpl := &template{Name: strings.TrimSuffix(filepath.Base(path), ".yml"), Path: path, Header: header, Body: body}
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal([]byte(header), &doc); err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	inputs := lookup(lookup(doc.Content[0], "spec"), "inputs")
	if inputs == nil || inputs.Kind != yamlv3.MappingNode {
		return nil, fmt.Errorf("%s: no spec:inputs mapping", path)
	}
	for i := 0; i+1 < len(inputs.Content); i += 2 {
		in := input{Name: inputs.Content[i].Value}
		n := inputs.Content[i+1]
		var fields struct {
			Type        string `yaml:"type"`
			Default     any    `yaml:"default"`
			Options     []any  `yaml:"options"`
			Regex       string `yaml:"regex"`
			Description string `yaml:"description"`
		}
		if err := n.Decode(&fields); err != nil {
			return nil, fmt.Errorf("%s: input %s: %w", path, in.Name, err)
		}
		in.Type, in.Default, in.Options, in.Regex, in.Description = fields.Type, fields.Default, fields.Options, fields.Regex, fields.Description
		in.HasDefault = lookup(n, "default") != nil
		tpl.Inputs = append(tpl.Inputs, in)
	}
	return tpl, nil
}

// lookup returns the value node of key in a mapping node, or nil.
func lookup(n *yamlv3.Node, key string) *yamlv3.Node {
	if n == nil || n.Kind != yamlv3.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// interpolation is GitLab's input reference, $[[ inputs.name ]].
var interpolation = regexp.MustCompile(`\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]`)

// samples are values for the required inputs, as a user would give them.
var samples = map[string]any{
	"app":            "checkout",
	"environment":    "production",
	"manifests":      "deploy/k8s",
	"image":          "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA",
	"gitops-project": "platform/gitops",
	"argocd-server":  "argocd.example.com:443",
	"argocd-app":     "checkout-production",
	"prometheus-url": "http://prometheus.monitoring:9090",
	"checks":         "deploy/checks.yaml",
}

// values are the inputs a pipeline gets with only the required ones given.
func (tpl *template) values(t *testing.T) map[string]any {
	t.Helper()
	v := map[string]any{}
	for _, in := range tpl.Inputs {
		switch {
		case in.HasDefault:
			v[in.Name] = in.Default
		case samples[in.Name] != nil:
			v[in.Name] = samples[in.Name]
		default:
			t.Fatalf("%s: required input %s has no sample value in load_test.go", tpl.Path, in.Name)
		}
	}
	return v
}

// interpolate parses the body and replaces every input reference with its
// value, as GitLab does when it includes the component: a string that is
// one reference becomes the value itself (a boolean stays a boolean), a
// reference inside a longer string becomes text. Keys are interpolated too.
func (tpl *template) interpolate(t *testing.T, values map[string]any) map[string]any {
	t.Helper()
	var body map[string]any
	if err := yaml.Unmarshal([]byte(tpl.Body), &body); err != nil {
		t.Fatalf("%s: the jobs are not YAML: %v", tpl.Path, err)
	}
	text := func(s string) string {
		return interpolation.ReplaceAllStringFunc(s, func(ref string) string {
			v, ok := values[interpolation.FindStringSubmatch(ref)[1]]
			if !ok {
				t.Errorf("%s: %s refers to an undeclared input", tpl.Path, ref)
				return ref
			}
			return fmt.Sprint(v)
		})
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case string:
			if m := interpolation.FindStringSubmatch(v); m != nil && m[0] == v {
				if val, ok := values[m[1]]; ok {
					return val
				}
			}
			return text(v)
		case []any:
			for i := range v {
				v[i] = walk(v[i])
			}
			return v
		case map[string]any:
			out := make(map[string]any, len(v))
			for k, e := range v {
				out[text(k)] = walk(e)
			}
			return out
		}
		return v
	}
	return walk(body).(map[string]any)
}

// asJSON turns a YAML or Go value into the JSON values a schema validates.
func asJSON(t *testing.T, path string, v any) any {
	t.Helper()
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}
