package drift

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/converge"
	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/traffic"
)

// The repairs --fix makes.
const (
	// FixReconcile puts a fast-path rollback into git: the active Services'
	// files select the live colour, the failed colour is scaled to zero.
	FixReconcile = "reconcile"
	// FixScaleDown scales the idle colour to zero in git after its window.
	FixScaleDown = "scale-down"
)

// repair makes the safe repairs the first pass found, one app at a time.
func (s *Stage) repair(ctx context.Context, p *pass) []Fix {
	var fixes []Fix
	for _, ar := range p.report.Apps {
		want := map[string]bool{}
		for _, c := range ar.Checks {
			for _, f := range c.Dangerous() {
				if f.Fix != "" {
					want[f.Fix] = true
				}
			}
		}
		if len(want) == 0 {
			continue
		}
		action := FixScaleDown
		if want[FixReconcile] {
			action = FixReconcile // it retires the failed colour too
		}
		fix := Fix{App: ar.App, Action: action}
		if why := s.cannotRepair(p, ar); why != "" {
			fix.Status, fix.Message = "skipped", why
		} else if action == FixReconcile {
			fix = s.locked(ctx, fix, func() (string, string, error) { return s.reconcile(ctx, p, ar.App) })
		} else {
			fix = s.locked(ctx, fix, func() (string, string, error) { return s.scaleDown(ctx, p, ar.App) })
		}
		fmt.Fprintf(s.Out, "fix %s: %s %s: %s\n", ar.App, fix.Action, fix.Status, fix.Message)
		fixes = append(fixes, fix)
	}
	return fixes
}

// cannotRepair says why the app must not be repaired, or "": traffic must
// be where the last switch put it and on Ready pods, and git and Argo CD
// must have answered.
func (s *Stage) cannotRepair(p *pass, ar AppReport) string {
	for _, c := range ar.Checks {
		if (c.Name == CheckActive || c.Name == CheckLiveReady) && len(c.Dangerous()) > 0 {
			return fmt.Sprintf("%s fails: bluegreen repairs only an app whose traffic is on the recorded, Ready colour", c.Name)
		}
	}
	switch g := p.git[ar.App]; {
	case p.gitErr != nil:
		return "git could not be read"
	case g == nil || g.err != nil || len(g.files) == 0:
		return "the app's GitOps folder could not be read"
	case s.ArgoCD == nil || p.argo[ar.App] == "":
		return "no Argo CD Application to sync the repair"
	case s.Lock == nil || s.Services == nil:
		return "no Kubernetes access for the lock"
	}
	return ""
}

// locked runs a repair under the environment lock. fn returns the
// revision and a message.
func (s *Stage) locked(ctx context.Context, fix Fix, fn func() (string, string, error)) Fix {
	t := s.Clock()
	var rev, msg string
	err := traffic.Locked(ctx, s.Lock, s.Namespace, fix.App, s.Holder, s.Log, func() error {
		var err error
		rev, msg, err = fn()
		return err
	})
	switch {
	case outcome.KindOf(err) == outcome.Locked:
		fix.Status, fix.Message = "skipped", err.Error()
	case err != nil:
		fix.Status, fix.Message = "failed", err.Error()
	default:
		fix.Status, fix.Revision = "done", rev
		fix.Message = fmt.Sprintf("%s [%s]", msg, s.Clock().Sub(t).Round(time.Millisecond))
	}
	return fix
}

// reconcile commits what a fast-path rollback did to the live Services,
// retires the colour it rolled back from, syncs both, and clears the mark.
func (s *Stage) reconcile(ctx context.Context, p *pass, app string) (string, string, error) {
	a, g := p.apps[app], p.git[app]
	actives, err := s.reread(ctx, a)
	if err != nil {
		return "", "", err
	}
	if pendingOf(actives) == "" {
		return "", "", errors.New("no Service is pending any more: another job reconciled it")
	}
	live := a.live
	bad := plan.Color(actives[0].Annotations[kube.AnnoPrevious])
	if bad != live.Other() {
		bad = live.Other()
	}
	if err := s.drained(actives, bad); err != nil {
		return "", "", err
	}
	files, err := activeFiles(g, actives, live)
	if err != nil {
		return "", "", err
	}
	retired, refs, err := retire(g, bad, s.Namespace)
	if err != nil {
		return "", "", err
	}
	restored, rrefs, err := restoreFiles(g, live, s.Namespace)
	if err != nil {
		return "", "", err
	}
	retired, refs = append(retired, restored...), append(refs, rrefs...)
	var names []string
	for _, svc := range actives {
		refs = append(refs, gitops.Object{Kind: "Service", Namespace: s.Namespace, Name: svc.Name})
		names = append(names, svc.Name)
	}
	folder := s.Folder(app)
	msg := fmt.Sprintf("bluegreen drift --fix: %s %s reconcile: live = %s, %s scaled to zero\n\nA fast-path rollback switched the live Services directly (%s); this commit makes git agree.\n%s",
		app, s.Environment, live, bad, pendingOf(actives), jobLine(s.JobURL))
	rev, err := s.commitAndSync(ctx, p.argo[app], msg, []string{path.Join(folder, string(bad))}, append(files, retired...), refs)
	if err != nil {
		return "", "", err
	}
	if err := traffic.ClearPending(ctx, s.Services, s.Namespace, names, s.Out); err != nil {
		return rev, "", fmt.Errorf("git agrees at %s, but the pending mark stays: %w", short(rev), err)
	}
	what, err := s.restoreLive(ctx, a, live)
	if err != nil {
		return rev, "", fmt.Errorf("git agrees at %s, but the capacity raise stays: %w", short(rev), err)
	}
	return rev, fmt.Sprintf("git says live = %s and %s is scaled to zero at %s; the pending mark is cleared%s", live, bad, short(rev), restoredNote(rrefs, what)), nil
}

// scaleDown scales the idle colour to zero in git and syncs it, once its
// rollback window has ended.
func (s *Stage) scaleDown(ctx context.Context, p *pass, app string) (string, string, error) {
	a, g := p.apps[app], p.git[app]
	actives, err := s.reread(ctx, a)
	if err != nil {
		return "", "", err
	}
	if m := pendingOf(actives); m != "" {
		return "", "", fmt.Errorf("a fast-path rollback is pending (%s): reconcile first", m)
	}
	until, err := time.Parse(time.RFC3339, actives[0].Annotations[kube.AnnoIdleUntil])
	if err != nil || s.Clock().Before(until) {
		return "", "", fmt.Errorf("the rollback window (%q) has not ended: not scaling down", actives[0].Annotations[kube.AnnoIdleUntil])
	}
	idle := a.live.Other()
	if err := s.drained(actives, idle); err != nil {
		return "", "", err
	}
	files, refs, err := retire(g, idle, s.Namespace)
	if err != nil {
		return "", "", err
	}
	restored, rrefs, err := restoreFiles(g, a.live, s.Namespace)
	if err != nil {
		return "", "", err
	}
	files, refs = append(files, restored...), append(refs, rrefs...)
	folder := s.Folder(app)
	msg := fmt.Sprintf("bluegreen drift --fix: %s %s: %s scaled to zero\n\nIts rollback window ended %s; %s stays live%s.\n%s",
		app, s.Environment, idle, until.UTC().Format(time.RFC3339), a.live, restoredNote(rrefs, ""), jobLine(s.JobURL))
	rev, err := s.commitAndSync(ctx, p.argo[app], msg, []string{path.Join(folder, string(idle))}, files, refs)
	if err != nil {
		return "", "", err
	}
	what, err := s.restoreLive(ctx, a, a.live)
	if err != nil {
		return rev, "", fmt.Errorf("%s is scaled to zero at %s, but the capacity raise stays: %w", idle, short(rev), err)
	}
	return rev, fmt.Sprintf("%s is scaled to zero at %s%s", idle, short(rev), restoredNote(rrefs, what)), nil
}

// reread reads the active Services again, under the lock, and checks that
// each still selects the live colour recorded at the last switch.
func (s *Stage) reread(ctx context.Context, a *appLive) ([]kube.Active, error) {
	var out []kube.Active
	for _, svc := range a.actives {
		cur, err := s.Services.Active(ctx, s.Namespace, svc.Name)
		if err != nil {
			return nil, err
		}
		if cur.Selected != a.live || plan.Color(cur.Annotations[kube.AnnoLive]) != a.live {
			return nil, fmt.Errorf("the active Service %s changed since the check (selects %q, recorded %q): not repairing", svc.Name, cur.Selected, cur.Annotations[kube.AnnoLive])
		}
		out = append(out, cur)
	}
	return out, nil
}

func pendingOf(actives []kube.Active) string {
	for _, a := range actives {
		if m := a.Annotations[kube.AnnoPendingReconcile]; m != "" {
			return m
		}
	}
	return ""
}

func jobLine(url string) string {
	if url == "" {
		return ""
	}
	return "Job: " + url + "\n"
}

// activeFiles are git's files of the active Services, made to select live
// with the switch record the live Services carry.
func activeFiles(g *gitApp, actives []kube.Active, live plan.Color) ([]gitops.File, error) {
	var files []gitops.File
	for _, act := range actives {
		var found *gitObject
		for _, o := range g.objects() {
			if o.obj.GetKind() == "Service" && o.obj.GroupVersionKind().Group == "" && o.obj.GetName() == act.Name {
				o := o
				found = &o
			}
		}
		if found == nil {
			return nil, fmt.Errorf("git has no manifest of the active Service %s under %s", act.Name, g.folder)
		}
		if len(found.file.objs) != 1 {
			return nil, fmt.Errorf("%s holds %d objects: bluegreen rewrites only files of one object", found.file.path, len(found.file.objs))
		}
		obj := found.obj.DeepCopy()
		if err := traffic.SelectColor(obj.Object, live, act.Annotations); err != nil {
			return nil, fmt.Errorf("%s: %w", found.file.path, err)
		}
		data, err := yaml.Marshal(obj.Object)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", found.file.path, err)
		}
		files = append(files, gitops.File{Path: found.file.path, Data: data})
	}
	return files, nil
}

// retire is the colour's folder in git as traffic.Retire leaves it: its
// Deployments at zero replicas, its HorizontalPodAutoscalers gone (the
// folder is owned, so their files are deleted). Untouched files keep their
// bytes. It returns the files, and the resources for Argo CD to sync and
// prune, in namespace ns unless they name their own.
func retire(g *gitApp, color plan.Color, ns string) ([]gitops.File, []gitops.Object, error) {
	var files []gitops.File
	var refs []gitops.Object
	seen := false
	for i := range g.files {
		f := &g.files[i]
		if f.group != string(color) {
			continue
		}
		seen = true
		var keep []map[string]any
		changed := false
		for _, o := range f.objs {
			out, what, err := traffic.Retire(o.Object)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", f.path, err)
			}
			gvk := o.GroupVersionKind()
			ref := gitops.Object{Group: gvk.Group, Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName(), File: f.path}
			if ref.Namespace == "" {
				ref.Namespace = ns // Argo CD puts it in the Application's destination
			}
			switch {
			case what == traffic.Dropped:
				refs, changed = append(refs, ref), true
				continue
			case gvk.Kind == "Deployment" && gvk.Group == "apps":
				refs = append(refs, ref)
			}
			changed = changed || what != traffic.Unchanged
			keep = append(keep, out)
		}
		switch {
		case len(keep) == 0: // the file goes: the folder is owned
		case !changed:
			files = append(files, gitops.File{Path: f.path, Data: f.data})
		default:
			var docs []string
			for _, o := range keep {
				b, err := yaml.Marshal(o)
				if err != nil {
					return nil, nil, fmt.Errorf("encode %s: %w", f.path, err)
				}
				docs = append(docs, string(b))
			}
			files = append(files, gitops.File{Path: f.path, Data: []byte(strings.Join(docs, "---\n"))})
		}
	}
	if !seen {
		return nil, nil, fmt.Errorf("git has no %s folder under %s", color, g.folder)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Kind+refs[i].Name < refs[j].Kind+refs[j].Name })
	return files, refs, nil
}

// commitAndSync commits the files in one commit, then has Argo CD sync
// just the named resources at that revision, and those the commit removed
// from the owned folders (pruning them: an HPA of the retired colour, even
// when an earlier, interrupted reconcile made the commit), and waits until
// that operation ends.
func (s *Stage) commitAndSync(ctx context.Context, argoApp, message string, owned []string, files []gitops.File, refs []gitops.Object) (string, error) {
	step := converge.Step{Repo: s.Repo, App: argoApp, Timeout: s.Timeout, Out: indent{s.Out}, Log: s.Log, Clock: s.Clock}
	return step.RunOnly(ctx, s.ArgoCD, gitops.Change{Project: s.Project, Branch: s.Branch, Message: message, Owned: owned, Files: files}, refs)
}

// indent writes each line of a repair's progress indented, under its
// "fix" line.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	if _, err := i.w.Write(append([]byte("  "), p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}
