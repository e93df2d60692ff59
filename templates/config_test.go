package templates

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/config"
)

// configs are the modes' configuration types, which the templates' variables
// and flags must exist in. A mode that lands adds one line here.
var configs = map[string]any{
	"render":   config.Render{},
	"sync":     config.Sync{},
	"approve":  config.Approve{},
	"verify":   config.Verify{},
	"promote":  config.Switch{},
	"rollback": config.Switch{},
	"drift":    config.Drift{},
	"monitor":  config.Monitor{},
	"doctor":   config.Doctor{},
}

// setting is one tagged field of a config struct.
type setting struct {
	env, flag, def string
	kind           reflect.Kind
}

// settings lists a config type's variables, walking embedded and nested
// structs the way config.Bind does.
func settings(t reflect.Type, into map[string]setting) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("env")
		if f.Type.Kind() == reflect.Struct && tag == "" {
			settings(f.Type, into)
			continue
		}
		if tag == "" {
			continue
		}
		parts := strings.Split(tag, ",")
		s := setting{env: strings.TrimSpace(parts[0]), flag: f.Tag.Get("flag"), kind: f.Type.Kind()}
		for _, p := range parts[1:] {
			if d, ok := strings.CutPrefix(strings.TrimSpace(p), "default="); ok {
				s.def = d
			}
		}
		into[s.env] = s
	}
}

// flagRef is a flag set from an input in a job's script.
var flagRef = regexp.MustCompile(`--([a-z0-9-]+)=\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]`)

func TestTemplates_VariablesAndFlagsAreTheBinarysWithItsDefaults(t *testing.T) {
	t.Parallel()
	checked := 0
	for _, tpl := range loadTemplates(t) {
		if tpl.Name == "pipeline" {
			continue
		}
		cfg, ok := configs[tpl.Name]
		if !ok {
			t.Logf("%s: no configuration type for this mode yet; its variables are not checked", tpl.Name)
			continue
		}
		checked++
		known := map[string]setting{}
		settings(reflect.TypeOf(cfg), known)
		byFlag := map[string]setting{}
		for _, s := range known {
			byFlag[s.flag] = s
		}
		var body map[string]struct {
			Variables map[string]string `json:"variables"`
			Script    []string          `json:"script"`
		}
		if err := yaml.Unmarshal([]byte(tpl.Body), &body); err != nil {
			t.Fatalf("%s: %v", tpl.Path, err)
		}
		for job, j := range body {
			for name, value := range j.Variables {
				s, ok := known[name]
				switch {
				case !ok:
					t.Errorf("%s: job %s sets %s, which bluegreen %s does not read", tpl.Path, job, name, tpl.Name)
				case strings.Contains(name, "TOKEN"):
					t.Errorf("%s: job %s sets %s: tokens are masked CI/CD variables, never template values", tpl.Path, job, name)
				default:
					checkDefault(t, tpl, name, value, s)
				}
			}
			for _, line := range j.Script {
				for _, m := range flagRef.FindAllStringSubmatch(line, -1) {
					s, ok := byFlag[m[1]]
					if !ok || s.flag == "" {
						t.Errorf("%s: job %s passes --%s, which bluegreen %s does not have", tpl.Path, job, m[1], tpl.Name)
						continue
					}
					if in, _ := tpl.input(m[2]); in.Type != "boolean" || s.kind != reflect.Bool {
						t.Errorf("%s: --%s is given input %s (%s): only booleans go as flags", tpl.Path, m[1], m[2], in.Type)
					}
					checkDefault(t, tpl, s.env, "$[[ inputs."+m[2]+" ]]", s)
				}
			}
		}
	}
	if checked < 5 {
		t.Errorf("only %d components checked against the configuration", checked)
	}
}

// checkDefault checks that an input set straight into a setting defaults
// to the binary's own default: an input left out changes nothing.
func checkDefault(t *testing.T, tpl *template, name, value string, s setting) {
	t.Helper()
	m := interpolation.FindStringSubmatch(value)
	if m == nil || m[0] != value || s.def == "" {
		return
	}
	in, ok := tpl.input(m[1])
	if !ok {
		return // reported by TestTemplates_InputsAreTypedDescribedAndUsed
	}
	if got := fmtValue(in.Default); got != s.def {
		t.Errorf("%s: input %s defaults to %q, but bluegreen's %s defaults to %q", tpl.Path, in.Name, got, name, s.def)
	}
}
