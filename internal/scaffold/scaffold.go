// Package scaffold writes the one-time set-up of an app for bluegreen, as
// `bluegreen init` does: the Argo CD Application, its AppProject and the
// account's RBAC, the namespace's ServiceAccount, Role and RoleBinding (the
// shipped Role), a starter checks file for the app's metrics, the
// .gitlab-ci.yml include of the pipeline component, and NEXT-STEPS.txt,
// which says what to apply, commit and set. It applies nothing: it renders
// files from a Spec whose values were validated by config.Init, and from
// what the app's own manifests say (Inspect).
package scaffold

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// Spec is everything the generated files say, validated by the caller.
type Spec struct {
	App, Environment string
	Namespace        string // the app's namespace, decided by Inspect
	Manifests        string // the manifests' path in the app repository
	Deployment       string // the workload to colour, when the manifests hold several
	Container        string // the container that gets the image, when not the first
	Image            string
	GitOps           GitOps
	ArgoCD           ArgoCD
	PrometheusURL    string
	Metrics          string // a family of Families
	Checks           string // the checks file's path in the app repository
	SlackChannel     string
	Component        string // the pipeline component's address, without the version
	ComponentVersion string
}

// GitOps is the app's folder in the GitOps repository.
type GitOps struct{ Project, Branch, Path string }

// ArgoCD is the Application and the account bluegreen's jobs use.
type ArgoCD struct {
	Server, App, Project, RepoURL, Namespace, Account, Destination string
}

// File is one generated file, its path relative to the output folder.
type File struct {
	Path string
	What string // one line for NEXT-STEPS.txt
	Data []byte
}

// The files, by where they go.
const (
	ApplicationFile = "argocd/application.yaml"
	AppProjectFile  = "argocd/appproject.yaml"
	ArgoCDCMFile    = "argocd/argocd-cm.patch.yaml"
	RBACCMFile      = "argocd/argocd-rbac-cm.patch.yaml"
	RBACFile        = "kubernetes/rbac.yaml"
	TokenFile       = "kubernetes/token.yaml"
	PipelineFile    = "app-repo/.gitlab-ci.yml"
	NextStepsFile   = "NEXT-STEPS.txt"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Option("missingkey=error").Funcs(template.FuncMap{
	"q":       scalar,
	"literal": literal,
}).ParseFS(templateFS, "templates/*.tmpl"))

// Generate renders every file for s and the app found in its manifests.
// The output is deterministic: the same input gives the same bytes.
func Generate(s Spec, app App) ([]File, error) {
	fam, ok := family(s.Metrics, app)
	if !ok {
		return nil, fmt.Errorf("metrics %q: not one of %s", s.Metrics, strings.Join(FamilyNames(), ", "))
	}
	if app.Workload.Kind == "Rollout" && !fam.Relabel {
		return nil, outcome.Usagef("--metrics (BG_METRICS) %s: %s is an Argo Rollouts Rollout, and %s metrics cannot tell its ReplicaSets apart (Istio names every ReplicaSet's workload after the Rollout); use http or grpc, whose series carry the pods' rollouts-pod-template-hash", s.Metrics, app.Workload.Name, s.Metrics)
	}
	d := data{Spec: s, Workload: app.Workload, Warnings: app.Warnings, Family: fam,
		AppProject: s.ArgoCD.Project != "default",
		PolicyKey:  "policy.bluegreen-" + s.ArgoCD.App + ".csv",
		Inputs:     inputs(s),
		DoctorArgs: doctorArgs(s),
	}
	role := "role:bluegreen-" + s.App
	obj := s.ArgoCD.Project + "/" + s.ArgoCD.App
	d.PolicyLines = []string{
		fmt.Sprintf("p, %s, applications, get, %s, allow", role, obj),
		fmt.Sprintf("p, %s, applications, sync, %s, allow", role, obj),
		fmt.Sprintf("g, %s, %s", s.ArgoCD.Account, role),
	}
	rbac, err := namespacedRBAC(s.Namespace)
	if err != nil {
		return nil, err
	}
	steps := []struct{ path, tmpl, what string }{
		{ApplicationFile, "application.yaml.tmpl", "kubectl apply: the Argo CD Application " + s.ArgoCD.App},
		{AppProjectFile, "appproject.yaml.tmpl", "kubectl apply: the Argo CD project " + s.ArgoCD.Project},
		{ArgoCDCMFile, "argocd-cm.patch.yaml.tmpl", "kubectl patch: the Argo CD account " + s.ArgoCD.Account},
		{RBACCMFile, "argocd-rbac-cm.patch.yaml.tmpl", "kubectl patch: the account may get and sync " + obj},
		{RBACFile, "", "kubectl apply: ServiceAccount, Role and RoleBinding bluegreen in " + s.Namespace},
		{TokenFile, "token.yaml.tmpl", "kubectl apply: the ServiceAccount's token, for KUBECONFIG"},
		{"app-repo/" + s.Checks, "checks.yaml.tmpl", "commit: the starter checks (" + fam.Name + " metrics)"},
		{PipelineFile, "gitlab-ci.yml.tmpl", "commit: merge into the app's .gitlab-ci.yml"},
	}
	var files []File
	for _, p := range steps {
		if p.path == AppProjectFile && !d.AppProject {
			continue
		}
		f := File{Path: p.path, What: p.what, Data: rbac}
		if p.tmpl != "" {
			if f.Data, err = execute(p.tmpl, d); err != nil {
				return nil, err
			}
		}
		files = append(files, f)
	}
	d.Files = files
	next, err := execute("NEXT-STEPS.txt.tmpl", d)
	if err != nil {
		return nil, err
	}
	return append(files, File{Path: NextStepsFile, What: "this list", Data: next}), nil
}

// data is what the templates see.
type data struct {
	Spec
	Workload    plan.Workload
	Warnings    []string
	Family      Family
	AppProject  bool
	PolicyKey   string
	PolicyLines []string
	Inputs      []Input
	DoctorArgs  string
	Files       []File
}

// Rule underlines NEXT-STEPS.txt's title.
func (data) Rule() string { return strings.Repeat("=", 72) }

// Input is one input of the pipeline component's include.
type Input struct{ Name, Value string }

// inputs are the include's inputs: every required one, and the optional
// ones whose value is not the component's default.
func inputs(s Spec) []Input {
	in := []Input{
		{"app", s.App}, {"environment", s.Environment}, {"namespace", s.Namespace},
		{"manifests", s.Manifests}, {"deployment", s.Deployment}, {"container", s.Container},
		{"image", s.Image},
		{"gitops-project", s.GitOps.Project}, {"gitops-branch", s.GitOps.Branch}, {"gitops-path", s.GitOps.Path},
		{"argocd-server", s.ArgoCD.Server}, {"argocd-app", s.ArgoCD.App},
		{"prometheus-url", s.PrometheusURL}, {"checks", s.Checks},
		{"slack-channel", s.SlackChannel},
	}
	defaults := map[string]string{"gitops-branch": "main", "gitops-path": s.Environment + "/" + s.App}
	var out []Input
	for _, i := range in {
		if i.Value != "" && i.Value != defaults[i.Name] {
			out = append(out, i)
		}
	}
	return out
}

// doctorArgs are the flags of `bluegreen doctor` for this set-up, run from
// the output folder, shell-quoted.
func doctorArgs(s Spec) string {
	args := []Input{
		{"app", s.App}, {"environment", s.Environment}, {"namespace", s.Namespace},
		{"gitops-project", s.GitOps.Project}, {"gitops-branch", s.GitOps.Branch}, {"gitops-path", s.GitOps.Path},
		{"argocd-server", s.ArgoCD.Server}, {"argocd-app", s.ArgoCD.App},
		{"prometheus", s.PrometheusURL}, {"checks", "app-repo/" + s.Checks}, {"slack-channel", s.SlackChannel},
	}
	var out []string
	for _, a := range args {
		if a.Value != "" {
			out = append(out, "--"+a.Name+" "+shellQuote(a.Value))
		}
	}
	return strings.Join(out, " \\\n       ")
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:@=+,-]+$`)

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func execute(name string, d data) ([]byte, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, d); err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// scalar writes s as one YAML scalar that reads back as the same string:
// plain when YAML allows it ("checkout"), quoted when it would read as
// something else ("yes", "0123", "#deploys").
func scalar(s string) string {
	out, err := yaml.Marshal(s)
	if v := strings.TrimSuffix(string(out), "\n"); err == nil && !strings.Contains(v, "\n") {
		return v
	}
	js, _ := json.Marshal(s) // a JSON string is a YAML double-quoted scalar
	return string(js)
}

// literal writes s as a literal block scalar indented by indent spaces.
func literal(indent int, s string) string {
	pad := strings.Repeat(" ", indent)
	return "|-\n" + pad + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+pad)
}
