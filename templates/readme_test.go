package templates

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite README.md's input tables from the templates")

// The README's generated section lies between these markers.
const (
	beginMarker = "<!-- inputs:begin -->"
	endMarker   = "<!-- inputs:end -->"
	readme      = "../README.md"
)

// tableOrder is the order of the components in the README.
var tableOrder = []string{"pipeline", "render", "sync", "approve", "verify", "promote", "monitor", "rollback", "drift", "doctor"}

func TestREADME_InputTablesAreGeneratedFromTheTemplates(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	begin, end := strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	if begin < 0 || end < begin {
		t.Fatalf("README.md has no %s ... %s section", beginMarker, endMarker)
	}
	want := inputTables(t, loadTemplates(t))
	got := doc[begin+len(beginMarker) : end]
	if got == want {
		return
	}
	if *update {
		doc = doc[:begin+len(beginMarker)] + want + doc[end:]
		if err := os.WriteFile(readme, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("README.md's input tables rewritten")
		return
	}
	t.Errorf("README.md's input tables differ from the templates; run `go test ./templates -update`\n%s", firstDiff(got, want))
}

// inputTables renders one section per component: its jobs and a table of
// its inputs, in the templates' own order.
func inputTables(t *testing.T, tpls []*template) string {
	t.Helper()
	byName := map[string]*template{}
	for _, tpl := range tpls {
		byName[tpl.Name] = tpl
		if !slices.Contains(tableOrder, tpl.Name) {
			t.Errorf("%s is not in readme_test.go's tableOrder", tpl.Path)
		}
	}
	var b strings.Builder
	b.WriteString("\n<!-- Generated from templates/*.yml by `go test ./templates -update`: edit the templates, not these tables. -->\n")
	for _, name := range tableOrder {
		tpl := byName[name]
		if tpl == nil {
			continue
		}
		fmt.Fprintf(&b, "\n#### %s\n\n", name)
		fmt.Fprintf(&b, "`component: $CI_SERVER_FQDN/platform/bluegreen/%s@<version>`, jobs: %s.\n\n", name, jobList(t, tpl, byName))
		b.WriteString("| Input | Type | Default | Description |\n| --- | --- | --- | --- |\n")
		for _, in := range tpl.Inputs {
			def := "*required*"
			if in.HasDefault {
				def = "`" + fmtValue(in.Default) + "`"
				if in.Default == "" {
					def = `""`
				}
			}
			desc := strings.TrimSpace(in.Description)
			if len(in.Options) > 0 {
				var opts []string
				for _, o := range in.Options {
					opts = append(opts, "`"+fmtValue(o)+"`")
				}
				desc += " One of " + strings.Join(opts, ", ") + "."
			}
			if in.Regex != "" {
				desc += " Must match `" + in.Regex + "`."
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", in.Name, in.Type, cell(def), cell(desc))
		}
	}
	b.WriteString("\n")
	return b.String()
}

// jobList names a component's jobs (without a job prefix); the pipeline's
// are those of the components it includes.
func jobList(t *testing.T, tpl *template, byName map[string]*template) string {
	t.Helper()
	var body map[string]any
	if err := yaml.Unmarshal([]byte(tpl.Body), &body); err != nil {
		t.Fatal(err)
	}
	var names []string
	if inc, ok := body["include"].([]any); ok {
		for _, i := range inc {
			local, _ := i.(map[string]any)["local"].(string)
			if sub := byName[strings.TrimSuffix(strings.TrimPrefix(local, "/templates/"), ".yml")]; sub != nil {
				names = append(names, jobList(t, sub, byName))
			}
		}
		return strings.Join(names, ", ")
	}
	for k := range body {
		names = append(names, "`"+strings.TrimPrefix(k, "$[[ inputs.job-prefix ]]")+"`")
	}
	sort.Slice(names, func(i, j int) bool {
		return len(names[i]) < len(names[j]) || len(names[i]) == len(names[j]) && names[i] < names[j]
	})
	return strings.Join(names, ", ")
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

// firstDiff shows where two texts start to differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d of the section:\n  README:    %q\n  templates: %q", i+1, gl, wl)
		}
	}
	return ""
}
