package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"gitlab.com/platform/bluegreen/internal/names"
	"gitlab.com/platform/bluegreen/internal/outcome"
)

// RenderedDir is the folder, inside the plan's folder, that holds the
// rendered manifests; Rendered.Dir is always exactly this.
const RenderedDir = "rendered"

// SharedDir is the folder of RenderedDir for the objects both colours share;
// the other objects are in the target colour's folder.
const SharedDir = "shared"

// ErrInvalid is wrapped by every error that refuses the content of a
// plan.json: too large, not JSON, an unknown or repeated field, an
// unsupported schema, or a value that breaks its rule. Load's errors for
// such a plan are outcome.Usage (exit 2): nothing was changed, and the
// artifact must be fixed or rendered again.
var ErrInvalid = errors.New("invalid plan")

// FieldError is one field of a plan that breaks a rule.
type FieldError struct {
	File  string // the plan's path
	Field string // the field as a JSON path, e.g. rendered.objects[3].file
	Value string // the value as found
	Err   error  // the rule it breaks
	// NoValue is set when the field itself is wrong (unknown, repeated, of
	// the wrong type), so that there is no value to show.
	NoValue bool
}

func (e *FieldError) Error() string { return e.File + ": " + e.what() }

// Unwrap lets errors.Is find ErrInvalid and the rule's own error.
func (e *FieldError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

func (e *FieldError) what() string {
	if e.NoValue {
		return fmt.Sprintf("%s: %v", e.Field, e.Err)
	}
	return fmt.Sprintf("%s %s: %v", e.Field, names.Quote(e.Value), e.Err)
}

// Invalid is every problem found in one plan, as one error on one line.
type Invalid struct {
	File     string
	Problems []*FieldError // at most maxProblems
	More     int           // problems found beyond those listed
}

func (e *Invalid) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.what()
	}
	s := fmt.Sprintf("%s: %v: %s", e.File, ErrInvalid, strings.Join(msgs, "; "))
	if e.More > 0 {
		s += fmt.Sprintf("; and %d more", e.More)
	}
	return s
}

// Unwrap lets errors.Is find ErrInvalid and errors.As each FieldError.
func (e *Invalid) Unwrap() []error {
	errs := []error{ErrInvalid}
	for _, p := range e.Problems {
		errs = append(errs, p)
	}
	return errs
}

// maxProblems bounds the problems one error lists.
const maxProblems = 10

// Validate checks every field of the plan by the rule of the stage that
// writes it, with the checks of package names for identities and paths.
// file names the plan in the errors. Load calls it; a stage may call it
// before it saves. The error is an *Invalid and outcome.Usage.
func (p *Plan) Validate(file string) error {
	c := &checker{file: file}
	p.validate(c)
	return c.err()
}

func (p *Plan) validate(c *checker) {
	if p.Schema < 1 || p.Schema > SchemaVersion {
		c.addf("schema", fmt.Sprint(p.Schema), "is not a schema this bluegreen reads (1 to %d)", SchemaVersion)
	}
	c.check("app", p.App, names.App(p.App))
	c.check("namespace", p.Namespace, names.Namespace(p.Namespace))
	if p.Environment != "" {
		c.check("environment", p.Environment, names.Environment(p.Environment))
	}
	if p.Commit != "" {
		c.check("commit", p.Commit, gitSHA(p.Commit))
	}
	c.check("image", p.Image, image(p.Image))
	c.check("targetColor", string(p.TargetColor), names.Color(string(p.TargetColor), false))
	c.check("liveColor", string(p.LiveColor), names.Color(string(p.LiveColor), true))
	if p.TargetColor == p.LiveColor && p.TargetColor != "" {
		c.addf("targetColor", string(p.TargetColor), "is the live colour too; a release targets the other one")
	}
	c.pipeline(p.Pipeline)
	c.workload(p.Workload)
	c.rendered(p.Rendered, p.TargetColor)
	c.gitops(p.GitOps, p.ArgoCD)
	c.notifications(p.Slack, p.Notifications)
	c.approval(p.Approval)
	c.verification("verification", p.Verification)
	c.monitor(p.Monitor)
	c.traffic(p.Traffic)
	c.ledger(p.Ledger)
}

func (c *checker) pipeline(pl Pipeline) {
	if pl.ProjectPath != "" {
		c.check("pipeline.projectPath", pl.ProjectPath, names.RelPath(pl.ProjectPath))
	}
	if pl.ID < 0 {
		c.addf("pipeline.id", fmt.Sprint(pl.ID), "is negative")
	}
	c.url("pipeline.url", pl.URL)
}

func (c *checker) workload(w Workload) {
	if w.Kind == "" && w.Name == "" && w.Colored == "" && w.Container == "" && len(w.Services) == 0 && w.Rollout == nil {
		return // a plan verify built from flags, or one made before render
	}
	switch w.Kind {
	case "Deployment", "Rollout":
	default:
		c.addf("workload.kind", w.Kind, "is not Deployment or Rollout")
	}
	c.check("workload.name", w.Name, names.Object(w.Kind, w.Name))
	if w.Colored != "" {
		c.check("workload.colored", w.Colored, names.Object("Deployment", w.Colored))
	}
	if w.Container != "" {
		c.check("workload.container", w.Container, names.Object("container", w.Container))
	}
	if r := w.Rollout; r != nil {
		if w.Kind != "Rollout" {
			c.addf("workload.rollout", r.Preview, "is set, but the workload is a %s: only a Rollout has ReplicaSet hashes", w.Kind)
		}
		c.check("workload.rollout.stable", r.Stable, names.PodTemplateHash(r.Stable))
		c.check("workload.rollout.preview", r.Preview, names.PodTemplateHash(r.Preview))
	}
	for i, s := range w.Services {
		at := fmt.Sprintf("workload.services[%d]", i)
		c.check(at+".active", s.Active, names.Object("Service", s.Active))
		c.check(at+".preview", s.Preview, names.Object("Service", s.Preview))
		if s.Port < 0 || s.Port > 65535 {
			c.addf(at+".port", fmt.Sprint(s.Port), "is not a port (0 to 65535)")
		}
	}
}

// rendered checks render's record: the folder is RenderedDir, each file is
// in the target colour's folder or SharedDir and named once, and the
// digests are well formed and add up to Rendered.Digest, which approve
// approves and sync commits.
func (c *checker) rendered(r Rendered, target Color) {
	if r.Dir != RenderedDir && (r.Dir != "" || len(r.Objects) > 0) {
		c.addf("rendered.dir", r.Dir, "must be %q: the rendered files are always in %s/ next to plan.json", RenderedDir, RenderedDir)
	}
	dirs := []string{string(Blue), string(Green), SharedDir}
	if target == Blue || target == Green {
		dirs = []string{string(target), SharedDir}
	}
	files := map[string]int{}
	for i, o := range r.Objects {
		at := fmt.Sprintf("rendered.objects[%d]", i)
		c.check(at+".kind", o.Kind, plain(o.Kind))
		c.check(at+".name", o.Name, names.Object(o.Kind, o.Name))
		if o.Namespace != "" {
			c.check(at+".namespace", o.Namespace, names.Namespace(o.Namespace))
		}
		c.check(at+".file", o.File, names.Under(o.File, dirs...))
		if j, seen := files[o.File]; seen {
			c.addf(at+".file", o.File, "is rendered.objects[%d]'s file too", j)
		}
		files[o.File] = i
		c.check(at+".digest", o.Digest, digest(o.Digest))
	}
	switch {
	case len(r.Objects) > 0 && r.Digest != r.Sum():
		if err := digest(r.Digest); err != nil {
			c.check("rendered.digest", r.Digest, err)
		} else {
			c.addf("rendered.digest", r.Digest, "does not match the objects' files and digests (they sum to %s)", r.Sum())
		}
	case r.Digest != "":
		c.check("rendered.digest", r.Digest, digest(r.Digest))
	}
}

// Sum is the digest over the objects' files and digests, in order: what
// render records as Rendered.Digest.
func (r *Rendered) Sum() string {
	h := sha256.New()
	for _, o := range r.Objects {
		fmt.Fprintf(h, "%s\x00%s\n", o.File, o.Digest)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Digest is a rendered file's digest, as Object.Digest records it.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (c *checker) gitops(g *GitOps, a *ArgoCD) {
	if g != nil {
		c.check("gitops.project", g.Project, names.RelPath(g.Project))
		c.check("gitops.branch", g.Branch, names.RelPath(g.Branch))
		c.check("gitops.path", g.Path, names.RelPath(g.Path))
		c.check("gitops.commit", g.Commit, gitSHA(g.Commit))
	}
	if a != nil {
		c.check("argocd.app", a.App, names.Object("Application", a.App))
		c.check("argocd.revision", a.Revision, gitSHA(a.Revision))
	}
}

func (c *checker) notifications(s *Slack, n *Notifications) {
	if s != nil {
		c.check("slack.channel", s.Channel, plain(s.Channel))
		c.check("slack.threadTs", s.ThreadTS, plain(s.ThreadTS))
	}
	if n == nil {
		return
	}
	for i, d := range n.Deliveries {
		at := fmt.Sprintf("notifications.deliveries[%d]", i)
		c.check(at+".stage", string(d.Stage), stage(string(d.Stage)))
		c.check(at+".result", d.Result, outcomeName(d.Result))
		c.check(at+".status", d.Status, oneOf(d.Status, DeliverySent, DeliveryPending))
		c.url(at+".jobUrl", d.JobURL)
		if d.TS != "" {
			c.check(at+".ts", d.TS, plain(d.TS))
		}
		if d.Attempts < 0 {
			c.addf(at+".attempts", fmt.Sprint(d.Attempts), "is negative")
		}
	}
}

func (c *checker) approval(a *Approval) {
	if a == nil {
		return
	}
	c.check("approval.approver.login", a.Approver.Login, plain(a.Approver.Login))
	if a.Approver.ID < 0 {
		c.addf("approval.approver.id", fmt.Sprint(a.Approver.ID), "is negative")
	}
	c.check("approval.digest", a.Digest, digest(a.Digest))
	for i, r := range a.Rules {
		c.check(fmt.Sprintf("approval.rules[%d].rule", i), r.Rule, plain(r.Rule))
	}
	c.url("approval.jobUrl", a.JobURL)
}

func (c *checker) verification(field string, v *Verification) {
	if v == nil {
		return
	}
	c.check(field+".result", v.Result, oneOf(v.Result, "pass", "fail", "inconclusive", "error"))
	c.check(field+".target", string(v.Target), names.Color(string(v.Target), false))
	c.check(field+".live", string(v.Live), names.Color(string(v.Live), true))
	c.url(field+".prometheus", v.Prometheus)
	for i, r := range v.Checks {
		at := fmt.Sprintf("%s.checks[%d]", field, i)
		c.check(at+".name", r.Name, plain(r.Name))
		c.check(at+".verdict", r.Verdict, oneOf(r.Verdict, "pass", "fail", "inconclusive", "undecided", "skipped"))
	}
}

func (c *checker) traffic(t *Traffic) {
	if t == nil {
		return
	}
	c.check("traffic.live", string(t.Live), names.Color(string(t.Live), false))
	if t.Previous != "" {
		c.check("traffic.previous", string(t.Previous), names.Color(string(t.Previous), true))
	}
	if t.Retired != "" {
		c.check("traffic.retired", string(t.Retired), names.Color(string(t.Retired), false))
	}
	if t.Revision != "" {
		c.check("traffic.revision", t.Revision, gitSHA(t.Revision))
	}
	c.check("traffic.mode", t.Mode, oneOf(t.Mode, "gitops", "direct", "rollout"))
}

func (c *checker) ledger(l []Result) {
	for i, r := range l {
		at := fmt.Sprintf("ledger[%d]", i)
		c.check(at+".stage", string(r.Stage), stage(string(r.Stage)))
		c.check(at+".outcome", r.Outcome, outcomeName(r.Outcome))
		if !r.Started.IsZero() && !r.Finished.IsZero() && r.Finished.Before(r.Started) {
			c.addf(at+".finished", r.Finished.Format(time.RFC3339Nano), "is before it started (%s)", r.Started.Format(time.RFC3339Nano))
		}
		c.url(at+".jobUrl", r.JobURL)
	}
}

// The rules that names does not own: the formats bluegreen itself writes.
var (
	digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	gitSHARE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
	stageRE  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
)

func digest(s string) error {
	if !digestRE.MatchString(s) {
		return errors.New("is not a digest: want sha256: and 64 lower-case hex digits")
	}
	return nil
}

func gitSHA(s string) error {
	if !gitSHARE.MatchString(s) {
		return errors.New("is not a git commit: want 40 (or 64) lower-case hex digits")
	}
	return nil
}

func stage(s string) error {
	if !stageRE.MatchString(s) {
		return errors.New("is not a stage name: want lower-case letters, digits and '-', at most 32")
	}
	return nil
}

// image checks the release image as far as the plan's consumers need: one
// token, and its digest, when it has one, well formed. The grammar of the
// reference itself is config's (BG_IMAGE), checked at render.
func image(s string) error {
	if err := plain(s); err != nil {
		return err
	}
	if name, d, ok := strings.Cut(s, "@"); ok {
		if name == "" {
			return errors.New("has a digest but no name")
		}
		if err := digest(d); err != nil {
			return fmt.Errorf("digest %s %w", names.Quote(d), err)
		}
	}
	return nil
}

// plain is a value that lands in logs, commit messages and Slack: not
// empty, and no space or control character that could forge a line.
func plain(s string) error {
	switch {
	case s == "":
		return errors.New("is empty")
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return errors.New("holds a space or a control character")
	}
	return nil
}

func outcomeName(s string) error {
	for k := outcome.OK; k <= outcome.Locked; k++ {
		if s == k.String() {
			return nil
		}
	}
	return errors.New("is not an outcome: ok, negative, usage, external or locked")
}

func oneOf(s string, allowed ...string) error {
	for _, a := range allowed {
		if s == a {
			return nil
		}
	}
	return fmt.Errorf("is not one of %s", strings.Join(allowed, ", "))
}

// checker collects a plan's problems.
type checker struct {
	file     string
	problems []*FieldError
	more     int
}

func (c *checker) check(field, value string, err error) {
	if err != nil {
		c.add(&FieldError{File: c.file, Field: field, Value: value, Err: err})
	}
}

func (c *checker) add(e *FieldError) {
	if len(c.problems) == maxProblems {
		c.more++
		return
	}
	c.problems = append(c.problems, e)
}

func (c *checker) addf(field, value, format string, a ...any) {
	c.check(field, value, fmt.Errorf(format, a...))
}

// url checks an optional link: an http(s) URL with a host.
func (c *checker) url(field, s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		c.addf(field, s, "is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		c.addf(field, s, "is not an http(s) URL")
	case u.Host == "":
		c.addf(field, s, "has no host")
	}
}

func (c *checker) err() error {
	if len(c.problems) == 0 {
		return nil
	}
	return outcome.As(outcome.Usage, &Invalid{File: c.file, Problems: c.problems, More: c.more})
}
