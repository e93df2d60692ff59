// Package drift is the scheduled check of an environment that knows
// blue/green: per app, it checks the blue/green invariants (the active
// Service selects the colour recorded at the last switch, that colour is
// Ready, the preview is empty or on the newest colour, the idle colour is
// scaled down after its rollback window, no orphaned coloured config, no
// pending git reconcile), compares the GitOps repo's manifests with the
// live objects and classes each difference as expected, benign or
// dangerous, and reads Argo CD's sync and health status and selfHeal/prune
// stance. It writes a JSON report and a JUnit report (one testcase per
// check per app), keeps one GitLab issue per environment, tells Slack only
// when the environment's state changes, and with Fix repairs what is safe
// to repair through a GitOps commit. README.md explains the classes.
package drift

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"gitlab.com/platform/bluegreen/internal/argocd"
	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/outcome"
)

// Lock is the environment lock, taken around a repair.
type Lock interface {
	Acquire(ctx context.Context, ns, app, holder string) (*kube.Held, error)
}

// Services reads active Services and clears the pending-reconcile mark.
type Services interface {
	Active(ctx context.Context, ns, name string) (kube.Active, error)
	Annotate(ctx context.Context, ns, name string, annotations map[string]*string) error
}

// Stage is one run of `bluegreen drift` over one environment: one
// namespace, one app or every app with an active Service in it.
type Stage struct {
	Environment string
	Namespace   string
	Apps        []string // empty: every app found by label
	OutDir      string   // drift.json and drift.junit.xml
	JobURL      string   // for the issue's notes and Slack

	Project, Branch string                  // the GitOps repository
	Folder          func(app string) string // the app's GitOps folder
	ArgoApp         string                  // the Application; "{app}" is replaced; empty: from Argo CD's tracking annotation
	KeepRevisions   int                     // unreferenced coloured config copies kept per name and colour

	Fix     bool          // repair what is safe to repair
	Holder  string        // the lock holder for repairs
	Timeout time.Duration // for a repair's Argo CD sync
	Drain   time.Duration // how long a colour is out of the endpoints before --fix scales it down

	Issues        Issues // nil: no GitLab issue (and no memory of the last state)
	IssuesProject string
	IssueLabel    string
	Announcer     Announcer // nil: no Slack

	Live     Live
	Repo     Repo
	ArgoCD   ArgoCD // nil: Argo CD is not checked
	Lock     Lock
	Services Services
	Capacity Capacity // nil: a capacity raise git does not hold is not restored

	Out   io.Writer
	Log   *slog.Logger
	Clock func() time.Time
}

// Run checks the environment, repairs when asked to (then checks again),
// keeps the issue, tells Slack of a change, and writes the reports. The
// error says how it ended: nil clean (exit 0), negative drift (1), usage or
// external when a check could not run (2, 3).
func (s *Stage) Run(ctx context.Context) (*Report, error) {
	start := s.Clock()
	p, err := s.check(ctx)
	if err != nil {
		return nil, err
	}
	if s.Fix {
		fixes := s.repair(ctx, p)
		if anyDone(fixes) {
			fmt.Fprintf(s.Out, "checking again after the repairs\n")
			if p, err = s.check(ctx); err != nil {
				return nil, err
			}
		}
		p.report.Fixes = fixes
	}
	r := p.report
	r.finish()
	s.print(r)
	var sideErr error
	prev, err := s.keepIssue(ctx, r)
	if err != nil {
		sideErr = err
		fmt.Fprintf(s.Out, "issue: not updated: %v\n", err)
	}
	s.announce(ctx, r, prev)
	r.Timings.Total = s.Clock().Sub(start).Milliseconds()
	if err := s.write(r); err != nil {
		sideErr = errors.Join(sideErr, err)
	}
	fmt.Fprintf(s.Out, "drift %s: %s [%s]\n", s.Environment, verdictLine(r), time.Duration(r.Timings.Total)*time.Millisecond)
	return r, verdict(r, sideErr)
}

// pass is one round of checks, with what the repairs need.
type pass struct {
	report *Report
	snap   *snapshot
	apps   map[string]*appLive
	git    map[string]*gitApp
	argo   map[string]string // app -> Application
	head   string
	gitErr error
}

// check reads the namespace, git and Argo CD, and runs every check.
func (s *Stage) check(ctx context.Context) (*pass, error) {
	t := s.Clock()
	snap, err := readSnapshot(ctx, s.Live, s.Namespace)
	if err != nil {
		return nil, err
	}
	apps, err := s.appsToCheck(snap)
	if err != nil {
		return nil, err
	}
	p := &pass{snap: snap, apps: map[string]*appLive{}, argo: map[string]string{}, report: &Report{
		Schema: ReportSchema, Environment: s.Environment, Namespace: s.Namespace, CheckedAt: s.Clock().UTC(),
	}}
	folders := map[string]string{}
	for _, app := range apps {
		p.apps[app] = newAppLive(snap, app)
		folders[app] = s.Folder(app)
		p.argo[app] = argoAppName(s.ArgoApp, p.apps[app])
	}
	if err := s.checkAmbiguous(apps, folders); err != nil {
		return nil, err
	}
	clusterTook := s.Clock().Sub(t)
	argo := s.inspectAll(ctx, p) // in parallel with git
	t = s.Clock()
	p.head, p.gitErr = s.Repo.BranchHead(ctx, s.Project, s.Branch)
	if p.gitErr == nil {
		p.git = readGit(ctx, s.Repo, s.Project, p.head, folders)
		snap.add(ctx, s.Live, gitKinds(p.git))
		snap.addCluster(ctx, s.Live, gitObjects(p.git))
	} else {
		p.gitErr = outcome.As(outcome.External, fmt.Errorf("gitops %s@%s: %w", s.Project, s.Branch, p.gitErr))
	}
	gitTook := s.Clock().Sub(t)
	inspected := <-argo
	if inspected.crash != nil {
		panic(inspected.crash) // on the command's goroutine, where it is recovered (exit 70)
	}
	p.report.Revision = p.head
	for _, app := range apps {
		p.report.Apps = append(p.report.Apps, s.checkApp(p, app, inspected.apps[app]))
	}
	p.report.Timings = Timings{Cluster: clusterTook.Milliseconds(), Git: gitTook.Milliseconds(), ArgoCD: inspected.took.Milliseconds()}
	return p, nil
}

// appsToCheck is --app, or every app found by label.
func (s *Stage) appsToCheck(snap *snapshot) ([]string, error) {
	if len(s.Apps) > 0 {
		return s.Apps, nil
	}
	apps := discoverApps(snap)
	if len(apps) == 0 {
		return nil, outcome.Usagef("no app to check in namespace %s: no Service has the labels bluegreen.dev/app and bluegreen.dev/role=active (name one with --app)", s.Namespace)
	}
	return apps, nil
}

// checkAmbiguous refuses one GitOps folder or one Application for several
// apps: their checks would compare the wrong things.
func (s *Stage) checkAmbiguous(apps []string, folders map[string]string) error {
	if len(apps) < 2 {
		return nil
	}
	if folders[apps[0]] == folders[apps[1]] {
		return outcome.Usagef("--gitops-path (BG_GITOPS_PATH) names one folder, %s, for %d apps: use {app} in it, or check one app with --app", folders[apps[0]], len(apps))
	}
	if s.ArgoApp != "" && !strings.Contains(s.ArgoApp, "{app}") {
		return outcome.Usagef("--argocd-app (BG_ARGOCD_APP) names one Application for %d apps: use {app} in it, leave it empty (each app's Application is found from its active Service), or check one app with --app", len(apps))
	}
	return nil
}

// checkApp runs every check of one app.
func (s *Stage) checkApp(p *pass, app string, argo argoResult) AppReport {
	a := p.apps[app]
	r := AppReport{App: app, Live: a.live, GitOpsPath: s.Folder(app), ArgoCDApp: p.argo[app]}
	now := s.Clock()
	add := func(name, summary string, f []Finding, err error) {
		r.Checks = append(r.Checks, Check{Name: name, Summary: summary, Findings: f, err: err})
	}
	if ro := appRollout(p.snap, app); ro != nil {
		r.Checks = append(r.Checks, rolloutChecks(p.snap, a, ro)...)
	} else {
		add(CheckActive, "the active Service selects exactly one colour, the one recorded at the last switch", checkActive(p.snap, a), nil)
		add(CheckLiveReady, "the live colour's pods are Ready and reached", checkLiveReady(p.snap, a), nil)
		add(CheckPreview, "the preview Service is empty or on the newest colour", checkPreview(p.snap, a), nil)
		add(CheckIdle, "the idle colour is scaled down after its rollback window", checkIdle(p.snap, a, now), nil)
		add(CheckPending, "no fast-path rollback waits for git", checkPending(a), nil)
	}
	var verdicts map[string]objVerdict
	inGit := map[string]bool{}
	switch {
	case p.gitErr != nil:
		add(CheckGit, "git and the cluster agree", nil, p.gitErr)
		add(CheckOrphans, "no coloured config beyond the kept revisions", nil, p.gitErr)
	default:
		g := p.git[app]
		f, v, err := checkGit(p.snap, a, g)
		verdicts = v
		add(CheckGit, "git and the cluster agree", f, err)
		for _, o := range g.objects() {
			inGit[o.obj.GetKind()+"/"+o.obj.GetName()] = true
		}
		var oerr error
		if g.err != nil {
			oerr = g.err
		}
		add(CheckOrphans, "no coloured config beyond the kept revisions", checkOrphans(p.snap, a, inGit, s.KeepRevisions), oerr)
	}
	switch {
	case s.ArgoCD == nil:
		r.Checks = append(r.Checks, Check{Name: CheckArgoCD, Status: Skipped, Summary: "Argo CD is not configured (BG_ARGOCD_SERVER)"})
	case p.argo[app] == "":
		r.Checks = append(r.Checks, Check{Name: CheckArgoCD, Status: Skipped, Summary: "no Argo CD Application found: set BG_ARGOCD_APP, or let Argo CD track the active Service"})
	case argo.err != nil:
		add(CheckArgoCD, "Argo CD says Synced and Healthy, with a safe sync policy", nil, argo.err)
	case p.gitErr != nil || verdicts == nil:
		add(CheckArgoCD, "Argo CD says Synced and Healthy, with a safe sync policy", nil, errors.New("not judged: git could not be read"))
	default:
		add(CheckArgoCD, "Argo CD says Synced and Healthy, with a safe sync policy", checkArgo(argo.app, verdicts, p.argo[app]), nil)
	}
	return r
}

type argoResult struct {
	app argocd.App
	err error
}

type inspected struct {
	apps  map[string]argoResult
	took  time.Duration
	crash any // a panic while reading, carried to the caller
}

// inspectAll reads every app's Application in the background.
func (s *Stage) inspectAll(ctx context.Context, p *pass) <-chan inspected {
	ch := make(chan inspected, 1)
	var names []string
	for app, n := range p.argo {
		if n != "" {
			names = append(names, app)
		}
	}
	if s.ArgoCD == nil || len(names) == 0 {
		ch <- inspected{apps: map[string]argoResult{}}
		return ch
	}
	go func() {
		defer func() {
			if v := recover(); v != nil {
				ch <- inspected{crash: v}
			}
		}()
		t := s.Clock()
		res := make([]argoResult, len(names))
		parallel(len(names), gitWidth, func(i int) {
			a, err := s.ArgoCD.Inspect(ctx, p.argo[names[i]], true)
			res[i] = argoResult{a, err}
		})
		out := map[string]argoResult{}
		for i, app := range names {
			out[app] = res[i]
		}
		ch <- inspected{apps: out, took: s.Clock().Sub(t)}
	}()
	return ch
}

func anyDone(fixes []Fix) bool {
	for _, f := range fixes {
		if f.Status == "done" {
			return true
		}
	}
	return false
}

// verdict turns the report into the run's error: a check that could not
// run wins (its kind, exit 2 or 3), then drift (exit 1), then a failure to
// keep the issue or write the reports (exit 3).
func verdict(r *Report, sideErr error) error {
	var errs []error
	for _, a := range r.Apps {
		for _, c := range a.Checks {
			if c.err != nil {
				errs = append(errs, fmt.Errorf("%s %s: %w", a.App, c.Name, c.err))
			}
		}
	}
	switch {
	case len(errs) > 0:
		err := errors.Join(errs...)
		kind := outcome.External
		for _, e := range errs {
			if outcome.KindOf(e) == outcome.Usage {
				kind = outcome.Usage
			}
		}
		msg := "drift check incomplete"
		if r.Drift {
			msg += " (and drift found)"
		}
		return outcome.As(kind, fmt.Errorf("%s: %w", msg, err))
	case r.Drift:
		return outcome.Negativef("drift in %s: %s", r.Environment, verdictLine(r))
	case sideErr != nil:
		return outcome.As(outcome.External, sideErr)
	}
	return nil
}

func verdictLine(r *Report) string {
	apps := map[string]bool{}
	for _, a := range r.Apps {
		for _, c := range a.Checks {
			if c.Status == Fail {
				apps[a.App] = true
			}
		}
	}
	if !r.Drift {
		return fmt.Sprintf("no drift in %d app(s) (%d expected, %d benign difference(s))", len(r.Apps), r.Counts[Expected], r.Counts[Benign])
	}
	return fmt.Sprintf("%d dangerous finding(s) in %d of %d app(s)", r.Counts[Dangerous], len(apps), len(r.Apps))
}

// write saves drift.json and drift.junit.xml; a path that cannot be
// written is a usage error (outcome.Local).
func (s *Stage) write(r *Report) error {
	if err := r.WriteJSON(s.OutDir); err != nil {
		return outcome.Local(err)
	}
	if err := writeJUnit(filepath.Join(s.OutDir, JUnitFile), r); err != nil {
		return outcome.Local(err)
	}
	fmt.Fprintf(s.Out, "reports: %s, %s\n", filepath.Join(s.OutDir, ReportFile), filepath.Join(s.OutDir, JUnitFile))
	return nil
}
