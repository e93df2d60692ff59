package templates

import (
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/report"
)

// schemaFile is GitLab's CI schema (see testdata/README.md).
const schemaFile = "testdata/gitlab-ci.schema.json"

var compiled struct {
	once sync.Once
	s    *jsonschema.Schema
	err  error
}

func gitlabSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	compiled.once.Do(func() {
		f, err := os.Open(schemaFile)
		if err != nil {
			compiled.err = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			compiled.err = err
			return
		}
		c := jsonschema.NewCompiler()
		if compiled.err = c.AddResource(schemaFile, doc); compiled.err == nil {
			compiled.s, compiled.err = c.Compile(schemaFile)
		}
	})
	if compiled.err != nil {
		t.Fatal(compiled.err)
	}
	return compiled.s
}

func validate(t *testing.T, what string, v any) {
	t.Helper()
	if err := gitlabSchema(t).Validate(asJSON(t, what, v)); err != nil {
		t.Errorf("%s does not validate against GitLab's CI schema:\n%v", what, err)
	}
}

func TestTemplates_ValidateAgainstGitLabSchema(t *testing.T) {
	t.Parallel()
	for _, tpl := range loadTemplates(t) {
		t.Run(tpl.Name, func(t *testing.T) {
			t.Parallel()
			var header map[string]any
			if err := yaml.Unmarshal([]byte(tpl.Header), &header); err != nil {
				t.Fatal(err)
			}
			if len(header) != 1 || header["spec"] == nil {
				t.Fatalf("the header holds %v, want only spec:", keys(header))
			}
			validate(t, tpl.Path+" (header)", header)
			validate(t, tpl.Path+" (jobs, with the defaults)", tpl.interpolate(t, tpl.values(t)))
		})
	}
	t.Run(".gitlab-ci.yml", func(t *testing.T) {
		t.Parallel()
		data, err := os.ReadFile("../.gitlab-ci.yml")
		if err != nil {
			t.Fatal(err)
		}
		var ci map[string]any
		if err := yaml.Unmarshal(data, &ci); err != nil {
			t.Fatal(err)
		}
		validate(t, ".gitlab-ci.yml", ci)
	})
}

// The inputs every component has, besides its own.
var common = []string{"job-prefix", "bluegreen-image", "version", "app", "environment", "deployment-tier"}

func TestTemplates_InputsAreTypedDescribedAndUsed(t *testing.T) {
	t.Parallel()
	for _, tpl := range loadTemplates(t) {
		t.Run(tpl.Name, func(t *testing.T) {
			t.Parallel()
			used := map[string]bool{}
			for _, m := range interpolation.FindAllStringSubmatch(tpl.Body, -1) {
				used[m[1]] = true
			}
			for _, in := range tpl.Inputs {
				checkInput(t, in)
				if !used[in.Name] {
					t.Errorf("input %s is never used", in.Name)
				}
				if strings.Contains(strings.ToLower(in.Name), "token") {
					t.Errorf("input %s: tokens are masked CI/CD variables, never inputs", in.Name)
				}
				delete(used, in.Name)
			}
			for name := range used {
				t.Errorf("$[[ inputs.%s ]] is not declared", name)
			}
			want := common
			if tpl.Name != "pipeline" {
				want = append([]string{"stage"}, common...)
			}
			for _, name := range want {
				if _, ok := tpl.input(name); !ok {
					t.Errorf("no %s input", name)
				}
			}
		})
	}
}

func checkInput(t *testing.T, in input) {
	t.Helper()
	if !slices.Contains([]string{"string", "boolean", "number", "array"}, in.Type) {
		t.Errorf("input %s: type %q; say it", in.Name, in.Type)
	}
	if d := strings.TrimSpace(in.Description); d == "" || len(d) > 1024 || !strings.HasSuffix(d, ".") {
		t.Errorf("input %s: the description must be a sentence of at most 1024 characters: %q", in.Name, d)
	}
	if !in.HasDefault {
		return
	}
	switch in.Default.(type) {
	case string:
		if in.Type != "string" {
			t.Errorf("input %s: a %s with a string default", in.Name, in.Type)
		}
	case bool:
		if in.Type != "boolean" {
			t.Errorf("input %s: a %s with a boolean default", in.Name, in.Type)
		}
	}
	if len(in.Options) > 0 && !slices.Contains(in.Options, in.Default) {
		t.Errorf("input %s: default %v is not among its options %v", in.Name, in.Default, in.Options)
	}
	if in.Regex != "" {
		re, err := regexp.Compile(in.Regex)
		if err != nil {
			t.Errorf("input %s: regex: %v", in.Name, err)
		} else if s, ok := in.Default.(string); ok && !gitlabMatches(re, s) {
			t.Errorf("input %s: default %q does not match its regex %s as GitLab checks it (before gitlab-org/gitlab#477707 an empty string matches no regex: validate it in the binary instead)", in.Name, s, in.Regex)
		}
	}
}

// gitlabMatches is GitLab's check of an input's value against its regex on
// the versions the components support: before the fix of
// gitlab-org/gitlab#477707 an empty string never matched, whatever the
// regex, so an input with `default: ""` and a regex cannot be left out.
func gitlabMatches(re *regexp.Regexp, s string) bool {
	return s != "" && re.MatchString(s)
}

// Each mode's GitLab environment action: prepare and verify do not count as
// deployments; start does (rollback.yml explains why rollback starts).
var actions = map[string]string{
	"render": "prepare", "sync": "prepare", "approve": "verify", "verify": "verify",
	"promote": "start", "rollback": "start", "drift": "verify", "monitor": "start", "doctor": "verify",
}

// exposeAs is GitLab's rule for artifacts:expose_as (EXPOSE_AS_REGEX).
var exposeAs = regexp.MustCompile(`^\w[-\w ]*$`)

// companions are the modes a component may run besides its own: monitor
// brings the rollback that follows its failure.
var companions = map[string]string{"monitor": "rollback"}

// Keywords that would leak from a component into the including pipeline.
var globalKeywords = []string{"stages", "variables", "default", "workflow", "image", "services", "cache", "before_script", "after_script", "include"}

func TestTemplates_FollowTheComponentContract(t *testing.T) {
	t.Parallel()
	for _, tpl := range loadTemplates(t) {
		if tpl.Name == "pipeline" {
			continue
		}
		t.Run(tpl.Name, func(t *testing.T) {
			t.Parallel()
			var body map[string]any
			if err := yaml.Unmarshal([]byte(tpl.Body), &body); err != nil {
				t.Fatal(err)
			}
			for _, k := range globalKeywords {
				if _, ok := body[k]; ok {
					t.Errorf("global keyword %s", k)
				}
			}
			if len(body) == 0 {
				t.Fatal("no jobs")
			}
			for name, j := range body {
				job, _ := j.(map[string]any)
				checkJob(t, tpl.Name, name, job)
			}
		})
	}
}

// checkJob checks what every bluegreen job must do.
func checkJob(t *testing.T, component, name string, job map[string]any) {
	t.Helper()
	mode := modeOf(job)
	want := map[string]string{
		"stage":                       "$[[ inputs.stage ]]",
		"image.name":                  "$[[ inputs.bluegreen-image ]]:$[[ inputs.version ]]",
		"resource_group":              "$[[ inputs.environment ]]",
		"environment.name":            "$[[ inputs.environment ]]",
		"environment.action":          actions[mode],
		"environment.deployment_tier": "$[[ inputs.deployment-tier ]]",
		"artifacts.when":              "always",
		"variables.BG_OUT":            ".bluegreen",
		"variables.BG_APP":            "$[[ inputs.app ]]",
		"variables.BG_ENVIRONMENT":    "$[[ inputs.environment ]]",
		"variables.BG_SLACK_CHANNEL":  "$[[ inputs.slack-channel ]]",
		"artifacts.reports.dotenv":    ".bluegreen/bluegreen.env",
		"variables.BG_APPROVE_JOB":    "$[[ inputs.job-prefix ]]approve",
		"retry.exit_codes":            "[3]",
		"rules.0.if":                  `$CI_PIPELINE_SOURCE == "schedule"`,
		"rules.0.when":                "never",
		"image.entrypoint":            "[]",
		"artifacts.paths":             "[.bluegreen/]",
		"environment":                 "",
		"script":                      "",
	}
	if !strings.HasPrefix(name, "$[[ inputs.job-prefix ]]") {
		t.Errorf("job %s is not named after the job-prefix input", name)
	}
	switch mode {
	case "drift":
		delete(want, "artifacts.reports.dotenv")
		delete(want, "variables.BG_APPROVE_JOB")
		delete(want, "rules.0.when")
		want["artifacts.reports.junit"] = ".bluegreen/drift.junit.xml"
	case "doctor":
		delete(want, "artifacts.reports.dotenv")
		delete(want, "variables.BG_APPROVE_JOB")
		delete(want, "rules.0.when")
		want["artifacts.reports.junit"] = ".bluegreen/doctor.junit.xml"
	case "verify", "monitor":
		want["artifacts.reports.junit"] = ".bluegreen/" + mode + ".junit.xml"
		// The HTML report the binary writes, linked from the merge request.
		want["artifacts.paths"] = "[.bluegreen/" + report.FileName(plan.Stage(mode)) + " .bluegreen/]"
		if e := field(job, "artifacts.expose_as"); !exposeAs.MatchString(e) {
			t.Errorf("job %s: artifacts.expose_as %q; GitLab takes letters, digits, '-', '_' and spaces", name, e)
		}
	case "":
		t.Errorf("job %s: its script does not run `bluegreen <mode>`", name)
		return
	}
	if mode != component && companions[component] != mode {
		t.Errorf("job %s runs bluegreen %s in the %s component", name, mode, component)
	}
	for key, w := range want {
		switch {
		case w == "":
			if field(job, key) == "" {
				t.Errorf("job %s has no %s", name, key)
			}
		default:
			if got := field(job, key); got != w {
				t.Errorf("job %s: %s is %q, want %q", name, key, got, w)
			}
		}
	}
	checkWhen(t, name, job)
}

// checkWhen checks when each kind of job runs.
func checkWhen(t *testing.T, name string, job map[string]any) {
	t.Helper()
	last := field(job, "rules.-1.when")
	switch base := strings.TrimPrefix(name, "$[[ inputs.job-prefix ]]"); base {
	case "approve": // the blocking QA gate
		if last != "manual" || field(job, "allow_failure") != "false" {
			t.Errorf("approve: when %q, allow_failure %q; want manual and false", last, field(job, "allow_failure"))
		}
	case "rollback": // optional, after a promote
		if last != "manual" || field(job, "allow_failure") != "true" || field(job, "needs") != "[$[[ inputs.job-prefix ]]promote]" {
			t.Errorf("rollback: when %q, allow_failure %q, needs %s; want manual, true, promote", last, field(job, "allow_failure"), field(job, "needs"))
		}
	case "rollback-on-verify-failure", "rollback-on-promote-failure", "rollback-on-monitor-failure":
		after := strings.TrimSuffix(strings.TrimPrefix(base, "rollback-on-"), "-failure")
		if last != "on_failure" || field(job, "needs") != "[$[[ inputs.job-prefix ]]"+after+"]" {
			t.Errorf("%s: when %q, needs %s; want on_failure after %s", base, last, field(job, "needs"), after)
		}
	case "doctor": // by itself on schedules, else a manual button that blocks nothing
		if field(job, "rules.0.if") != `$CI_PIPELINE_SOURCE == "schedule"` || field(job, "rules.0.allow_failure") != "true" || last != "manual" || field(job, "rules.-1.allow_failure") != "true" {
			t.Errorf("doctor: rules %s; want schedules (never blocking drift), else manual, both with allow_failure", field(job, "rules"))
		}
	case "drift": // schedules only
		if field(job, "rules") != `[map[if:$CI_PIPELINE_SOURCE == "schedule"]]` {
			t.Errorf("drift: rules %s, want schedules only", field(job, "rules"))
		}
	default:
		if last != "on_success" {
			t.Errorf("%s: when %q, want on_success", base, last)
		}
		if field(job, "dependencies") != "[$[[ inputs.job-prefix ]]$[[ inputs.plan-from ]]]" && base != "render" {
			t.Errorf("%s: dependencies %s; want only the plan-from job", base, field(job, "dependencies"))
		}
	}
}

// modeOf is the bluegreen mode a job's script runs.
func modeOf(job map[string]any) string {
	script, _ := job["script"].([]any)
	for _, line := range script {
		if f := strings.Fields(fmtValue(line)); len(f) >= 2 && f[0] == "bluegreen" {
			return f[1]
		}
	}
	return ""
}

// field returns the value at a dotted path ("rules.0.when"; -1 is the last
// item) as text, "" when absent.
func field(v any, dotted string) string {
	for _, k := range strings.Split(dotted, ".") {
		switch c := v.(type) {
		case map[string]any:
			v = c[k]
		case []any:
			i, err := strconv.Atoi(k)
			if i == -1 {
				i = len(c) - 1
			}
			if err != nil || i < 0 || i >= len(c) {
				return ""
			}
			v = c[i]
		default:
			return ""
		}
	}
	if v == nil {
		return ""
	}
	return fmtValue(v)
}

// fmtValue prints a parsed YAML value: lists as [a b], maps as map[k:v].
func fmtValue(v any) string { return fmt.Sprint(v) }

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// semver is a release tag as the CI/CD Catalog wants it.
var semver = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

func TestTemplates_PinTheImageToOneReleasedVersion(t *testing.T) {
	t.Parallel()
	versions := map[string][]string{}
	for _, tpl := range loadTemplates(t) {
		in, ok := tpl.input("version")
		if !ok {
			continue
		}
		v, _ := in.Default.(string)
		versions[v] = append(versions[v], tpl.Name)
	}
	if len(versions) != 1 {
		t.Fatalf("the components pin different versions: %v", versions)
	}
	for v := range versions {
		if !semver.MatchString(v) {
			t.Errorf("version %q is not a release tag like 1.4.0", v)
		}
		// The release pipeline (a tag) ships exactly the version pinned.
		if tag := os.Getenv("CI_COMMIT_TAG"); tag != "" && tag != v {
			t.Errorf("tag %s, but the components pin the image at %s: bump every version input first", tag, v)
		}
	}
}

func TestTemplates_PipelineForwardsEveryInputToTheComponents(t *testing.T) {
	t.Parallel()
	byName := map[string]*template{}
	for _, tpl := range loadTemplates(t) {
		byName[tpl.Name] = tpl
	}
	pipe := byName["pipeline"]
	var body struct {
		Include []struct {
			Local  string         `json:"local"`
			Inputs map[string]any `json:"inputs"`
		} `json:"include"`
	}
	if err := yaml.Unmarshal([]byte(pipe.Body), &body); err != nil {
		t.Fatal(err)
	}
	var top map[string]any
	if err := yaml.Unmarshal([]byte(pipe.Body), &top); err != nil || len(top) != 1 {
		t.Errorf("pipeline.yml holds %v (%v): only include, since components add no global keywords", keys(top), err)
	}
	included := map[string]bool{}
	for _, inc := range body.Include {
		name := strings.TrimSuffix(path.Base(inc.Local), ".yml")
		tpl := byName[name]
		if tpl == nil || inc.Local != "/templates/"+name+".yml" {
			t.Errorf("pipeline.yml includes %s, which is not a component here", inc.Local)
			continue
		}
		included[name] = true
		for key, v := range inc.Inputs {
			in, ok := tpl.input(key)
			if !ok {
				t.Errorf("pipeline.yml gives %s the input %s, which it does not declare", name, key)
				continue
			}
			// Forwarded as-is: the pipeline's input must mean the same.
			ref := interpolation.FindStringSubmatch(fmtValue(v))
			if ref == nil || ref[1] != key {
				continue
			}
			outer, _ := pipe.input(key)
			if narrows(outer, in) {
				continue
			}
			if outer.Type != in.Type || fmtValue(outer.Default) != fmtValue(in.Default) || outer.HasDefault != in.HasDefault || outer.Regex != in.Regex || len(outer.Options) != len(in.Options) {
				t.Errorf("input %s: pipeline.yml says %s %v (regex %q), %s.yml %s %v (regex %q)", key, outer.Type, outer.Default, outer.Regex, name, in.Type, in.Default, in.Regex)
			}
		}
		for _, in := range tpl.Inputs {
			if _, given := inc.Inputs[in.Name]; !in.HasDefault && !given {
				t.Errorf("pipeline.yml does not give %s its required input %s", name, in.Name)
			}
		}
	}
	for name := range byName {
		if name != "pipeline" && !included[name] {
			t.Errorf("pipeline.yml does not include %s", name)
		}
	}
}

// narrows reports whether the pipeline requires an input that the
// component makes optional (drift's app: one app in a pipeline, every app
// of the namespace alone), with the component's regex the pipeline's made
// optional, or none.
func narrows(outer, in input) bool {
	if outer.HasDefault || !in.HasDefault || fmtValue(in.Default) != "" || outer.Type != in.Type {
		return false
	}
	core := strings.TrimSuffix(strings.TrimPrefix(outer.Regex, "^"), "$")
	return in.Regex == "" || in.Regex == outer.Regex || in.Regex == "^("+core+")?$"
}
