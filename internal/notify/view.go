package notify

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gitlab.com/platform/bluegreen/internal/plan"
)

// The stages of a deployment, in pipeline order. Rollback is shown only
// when it happened.

// View is the data templates see. Every string is already escaped for
// Slack mrkdwn (&, <, >), so templates can print it as is; Links hold raw
// URLs for the link function.
type View struct {
	App         string
	Environment string
	Namespace   string
	Stage       string // the stage being reported: render, sync, approve, verify, promote, rollback, ...
	Result      string // ok, negative, usage, external, locked
	OK          bool   // Result == "ok"
	Verb        string // the result in words: "rendered", "refused", "failed (external system)", ...
	Emoji       string // the result as a Slack emoji code
	Message     string // the stage's one-line message or error
	Duration    string // how long the stage took, e.g. "3.2s"; "" when unknown
	Live        string // the colour live before this release: blue, green or none
	LiveNow     string // the colour live now: Target after a promote, Live again after a rollback
	Target      string // the colour being released
	Image       string
	Commit      string // full SHA
	CommitShort string
	Approval    *ApprovalView // nil until approved
	// AwaitingApproval: green is (being) prepared and nobody has approved
	// it yet; Links.Play, when known, is where to press play.
	AwaitingApproval bool
	Checks           []CheckView // verification values against thresholds
	// Monitor is the monitor stage's outcome, once it has one.
	Monitor  *MonitorView
	Details  []Detail    // the stage's other recorded details
	Progress []StageView // every stage so far, in pipeline order
	Links    Links
}

// ApprovalView is plan.Approval for templates.
type ApprovalView struct {
	Login  string
	Name   string
	Reason string
	At     string // RFC 3339, UTC
	Digest string
	Rules  []plan.RuleResult
}

// MonitorView is plan.Monitoring for templates.
type MonitorView struct {
	Action  string // confirmed, rolled-back, held, none
	Verdict string // pass, fail, inconclusive, error
	Bake    string // e.g. 10m0s
}

// CheckView is one verification check from plan.Verification.
type CheckView struct {
	Name      string
	Verdict   string // pass, fail, inconclusive, undecided, skipped
	Emoji     string
	Target    string // the target colour's value: "0.0012", "no data", "NaN"
	Live      string // the live colour's value, when compared; else ""
	Threshold string
	Window    string
	Reason    string // why, for a check that did not pass
	Value     string // all of the above in one line, as the reply shows it
}

// Detail is one ledger detail.
type Detail struct{ Key, Value string }

// StageView is one stage's state in the progress line.
type StageView struct {
	Name   string
	Result string // "" when it has not run
	Emoji  string
}

// Links are the deep links of a message; empty when unknown.
type Links struct {
	Pipeline     string
	Job          string
	Commit       string
	MergeRequest string
	Play         string // the approve job, where a person presses play
	ArgoCD       string
	Report       string // the stage's HTML report among the job's artifacts
}

// artifactPath is a path inside a job's artifacts that a link may carry.
var artifactPath = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*\.html$`)

// reportPath is the HTML report of stage in the plan, when it is a plain
// relative path (plan.json is input like any other).
func reportPath(p *plan.Plan, stage plan.Stage) string {
	var r string
	switch {
	case stage == plan.Verify && p.Verification != nil:
		r = p.Verification.Report
	case stage == plan.Monitor && p.Monitor != nil:
		r = p.Monitor.Report
	}
	if !artifactPath.MatchString(r) || strings.Contains(r, "..") {
		return ""
	}
	return r
}

// buildView assembles the view of delivery d (one stage's report) against
// the plan's current state.
func (n *Notifier) buildView(p *plan.Plan, d plan.Delivery, play string) View {
	esc := func(s string) string { return escape(n.scrub(s)) }
	v := View{
		App: esc(p.App), Environment: esc(orDefault(p.Environment, p.Namespace)), Namespace: esc(p.Namespace),
		Stage: esc(string(d.Stage)), Result: d.Result, OK: d.Result == "ok",
		Verb: verb(d.Stage, d.Result), Emoji: resultEmoji(d.Result),
		Message: esc(oneLine(d.Message)),
		Live:    esc(string(p.LiveColor)), Target: esc(string(p.TargetColor)),
		Image: esc(p.Image), Commit: esc(p.Commit), CommitShort: esc(short(p.Commit)),
	}
	if r, ok := p.Last(d.Stage); ok {
		if !r.Finished.IsZero() && !r.Started.IsZero() && r.Finished.After(r.Started) {
			v.Duration = formatDuration(r.Finished.Sub(r.Started))
		}
		v.Details = details(r.Details, esc)
	}
	if d.Stage == plan.Verify && p.Verification != nil {
		v.Checks = checks(p.Verification, esc)
	}
	if m := p.Monitor; m != nil {
		v.Monitor = &MonitorView{Action: m.Action, Verdict: esc(m.Result), Bake: esc(m.Bake)}
		if d.Stage == plan.Monitor {
			v.Checks = checks(&m.Verification, esc)
		}
	}
	if a := p.Approval; a != nil {
		v.Approval = &ApprovalView{
			Login: esc(a.Approver.Login), Name: esc(a.Approver.Name), Reason: esc(oneLine(a.Reason)),
			At: a.At.UTC().Format(time.RFC3339), Digest: esc(a.Digest), Rules: a.Rules,
		}
	}
	v.AwaitingApproval = p.Approval == nil &&
		((d.Stage == plan.Render || d.Stage == plan.Sync) && d.Result == "ok" || d.Stage == plan.Approve && d.Result == "negative")
	v.LiveNow = esc(string(liveNow(p, d)))
	v.Progress = progress(p, d)
	v.Links = n.links(p, d, play)
	return v
}

func (n *Notifier) links(p *plan.Plan, d plan.Delivery, play string) Links {
	l := Links{Pipeline: p.Pipeline.URL, Job: d.JobURL, Play: play}
	project := orDefault(n.Site.ProjectPath, p.Pipeline.ProjectPath)
	server := strings.TrimSuffix(n.Site.ServerURL, "/")
	if server != "" && project != "" {
		if p.Commit != "" {
			l.Commit = fmt.Sprintf("%s/%s/-/commit/%s", server, project, p.Commit)
		}
		if n.Site.MergeRequestIID > 0 {
			l.MergeRequest = fmt.Sprintf("%s/%s/-/merge_requests/%d", server, project, n.Site.MergeRequestIID)
		}
	}
	if n.Site.ArgoCDURL != "" && p.ArgoCD != nil && p.ArgoCD.App != "" {
		l.ArgoCD = strings.TrimSuffix(n.Site.ArgoCDURL, "/") + "/applications/" + p.ArgoCD.App
	}
	if r := reportPath(p, d.Stage); r != "" && d.JobURL != "" {
		l.Report = strings.TrimSuffix(d.JobURL, "/") + "/artifacts/file/" + r
	}
	if d.Stage == plan.Approve && d.Result == "negative" && play == "" {
		l.Play = d.JobURL // the refused job itself can be played again
	}
	return l
}

// liveNow is the colour serving traffic after d, as far as the ledger says.
func liveNow(p *plan.Plan, d plan.Delivery) plan.Color {
	live := p.LiveColor
	apply := func(stage plan.Stage, outcome string) {
		switch {
		case stage == plan.Promote && outcome == "ok":
			live = p.TargetColor
		case stage == plan.Rollback && outcome == "ok":
			live = p.LiveColor
		}
	}
	for _, r := range p.Ledger {
		apply(r.Stage, r.Outcome)
	}
	apply(d.Stage, d.Result)
	return live
}

// progress is every pipeline stage with its newest result; d's own result
// wins for its stage.
func progress(p *plan.Plan, d plan.Delivery) []StageView {
	stages := append([]plan.Stage(nil), plan.PipelineStages...)
	if _, ok := p.Last(plan.Monitor); ok || d.Stage == plan.Monitor {
		stages = append(stages, plan.Monitor)
	}
	_, rolledBack := p.Last(plan.Rollback)
	if rolledBack || d.Stage == plan.Rollback {
		stages = append(stages, plan.Rollback)
	}
	var out []StageView
	for _, s := range stages {
		sv := StageView{Name: string(s)}
		if r, ok := p.Last(s); ok {
			sv.Result = r.Outcome
		}
		if s == d.Stage {
			sv.Result = d.Result
		}
		sv.Emoji = stageEmoji(sv.Result)
		out = append(out, sv)
	}
	return out
}

func details(m map[string]string, esc func(string) string) []Detail {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Detail, 0, len(keys))
	for _, k := range keys {
		out = append(out, Detail{Key: esc(k), Value: esc(oneLine(m[k]))})
	}
	return out
}

// checks turns the verify stage's record into one line per check: the
// target's value against the threshold, the live colour's value when
// compared, the window, and for a check that did not pass, why.
func checks(ver *plan.Verification, esc func(string) string) []CheckView {
	var out []CheckView
	for _, c := range ver.Checks {
		cv := CheckView{
			Name: esc(c.Name), Verdict: esc(c.Verdict), Emoji: checkEmoji(c.Verdict),
			Target: number(c.Target), Threshold: esc(c.Threshold), Window: esc(c.Window),
		}
		if c.Live != nil || c.LiveQuery != "" {
			cv.Live = number(c.Live)
		}
		if c.Verdict != "pass" {
			cv.Reason = esc(oneLine(c.Reason))
		}
		cv.Value = fmt.Sprintf("*%s* %s (threshold %s", esc(string(ver.Target)), cv.Target, orDefault(cv.Threshold, "none"))
		if cv.Live != "" {
			cv.Value += fmt.Sprintf("; *%s* %s", esc(string(ver.Live)), cv.Live)
		}
		if cv.Window != "" {
			cv.Value += "; window " + cv.Window
		}
		cv.Value += ")"
		if cv.Reason != "" {
			cv.Value += "\n_" + cv.Reason + "_"
		}
		out = append(out, cv)
	}
	return out
}

func number(n *plan.Number) string {
	if n == nil {
		return "no data"
	}
	f := float64(*n)
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 0):
		return fmt.Sprintf("%+v", f)
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}

// verb words a stage's result.
func verb(stage plan.Stage, result string) string {
	switch result {
	case "ok":
		if w, ok := map[plan.Stage]string{
			plan.Render: "rendered", plan.Sync: "synced", plan.Approve: "approved", plan.Verify: "passed",
			plan.Promote: "promoted", plan.Rollback: "rolled back", plan.Drift: "found no drift", plan.Monitor: "confirmed the release",
		}[stage]; ok {
			return w
		}
		return "done"
	case "negative":
		if w, ok := map[plan.Stage]string{
			plan.Approve: "refused", plan.Verify: "failed", plan.Drift: "found drift", plan.Render: "found changes", plan.Monitor: "found a problem under real traffic",
		}[stage]; ok {
			return w
		}
		return "negative"
	case "usage":
		return "failed (configuration)"
	case "external":
		return "failed (external system; retry the job)"
	case "locked":
		return "blocked (environment locked by another pipeline)"
	}
	return escape(result)
}

func resultEmoji(result string) string {
	switch result {
	case "ok":
		return ":white_check_mark:"
	case "negative":
		return ":x:"
	case "locked":
		return ":lock:"
	}
	return ":warning:"
}

func stageEmoji(result string) string {
	if result == "" {
		return ":white_circle:"
	}
	return resultEmoji(result)
}

func checkEmoji(verdict string) string {
	switch verdict {
	case "pass":
		return ":white_check_mark:"
	case "fail":
		return ":x:"
	case "skipped":
		return ":white_circle:"
	}
	return ":warning:"
}

func colorEmoji(c string) string {
	switch c {
	case "blue":
		return ":large_blue_circle:"
	case "green":
		return ":large_green_circle:"
	}
	return ":white_circle:"
}

// attachmentColor is the head's side bar: the result, except that a
// finished rollback is a warning, not a success.
func attachmentColor(stage plan.Stage, result string) string {
	switch {
	case result == "ok" && stage == plan.Rollback:
		return "#ecb22e"
	case result == "ok":
		return "#2eb67d"
	case result == "negative":
		return "#e01e5a"
	}
	return "#ecb22e"
}

// escape makes s safe as Slack mrkdwn text: no mentions, no links.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return truncate(s, 500)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
