package drift

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// The repairs --fix makes.
const (
	// FixReconcile puts a fast-path rollback into git: the active Services'
	// files select the live colour, the failed colour is scaled to zero.
	FixReconcile = "reconcile"
	// FixScaleDown scales the idle colour to zero in git after its window.
	FixScaleDown = "scale-down"
)

// switchKeys are the annotations a switch writes to git (the others, the
// times and the pending mark, live only on the Service).
var switchKeys = []string{kube.AnnoLive, kube.AnnoPrevious, kube.AnnoRevision, kube.AnnoPipelineID, kube.AnnoPipelineURL, kube.AnnoImage}

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
	held, err := s.Lock.Acquire(ctx, s.Namespace, fix.App, s.Holder)
	if err != nil {
		fix.Status, fix.Message = "failed", err.Error()
		if outcome.KindOf(err) == outcome.Locked {
			fix.Status = "skipped"
		}
		return fix
	}
	rev, msg, err := fn()
	if rerr := held.Release(context.WithoutCancel(ctx)); rerr != nil {
		s.Log.Warn("lock not released; it expires by itself", "err", rerr)
	}
	if err == nil {
		err = held.Err()
	}
	if err != nil {
		fix.Status, fix.Message = "failed", err.Error()
		return fix
	}
	fix.Status, fix.Revision = "done", rev
	fix.Message = fmt.Sprintf("%s [%s]", msg, s.Clock().Sub(t).Round(time.Millisecond))
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
	files, err := activeFiles(g, actives, live)
	if err != nil {
		return "", "", err
	}
	retired, refs, err := retire(g, bad, s.Namespace)
	if err != nil {
		return "", "", err
	}
	for _, svc := range actives {
		refs = append(refs, ArgoResource{Kind: "Service", Namespace: s.Namespace, Name: svc.Name})
	}
	folder := s.Folder(app)
	msg := fmt.Sprintf("bluegreen drift --fix: %s %s reconcile: live = %s, %s scaled to zero\n\nA fast-path rollback switched the live Services directly (%s); this commit makes git agree.\n%s",
		app, s.Environment, live, bad, pendingOf(actives), jobLine(s.JobURL))
	rev, err := s.commitAndSync(ctx, p.argo[app], msg, []string{path.Join(folder, string(bad))}, append(files, retired...), refs)
	if err != nil {
		return "", "", err
	}
	for _, svc := range actives {
		if svc.Annotations[kube.AnnoPendingReconcile] == "" {
			continue
		}
		if err := s.Services.Annotate(ctx, s.Namespace, svc.Name, map[string]*string{kube.AnnoPendingReconcile: nil}); err != nil {
			return rev, "", fmt.Errorf("git agrees at %s, but the pending mark stays: %w", short(rev), err)
		}
	}
	return rev, fmt.Sprintf("git says live = %s and %s is scaled to zero at %s; the pending mark is cleared", live, bad, short(rev)), nil
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
	files, refs, err := retire(g, idle, s.Namespace)
	if err != nil {
		return "", "", err
	}
	folder := s.Folder(app)
	msg := fmt.Sprintf("bluegreen drift --fix: %s %s: %s scaled to zero\n\nIts rollback window ended %s; %s stays live.\n%s",
		app, s.Environment, idle, until.UTC().Format(time.RFC3339), a.live, jobLine(s.JobURL))
	rev, err := s.commitAndSync(ctx, p.argo[app], msg, []string{path.Join(folder, string(idle))}, files, refs)
	if err != nil {
		return "", "", err
	}
	return rev, fmt.Sprintf("%s is scaled to zero at %s", idle, short(rev)), nil
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
// with the switch annotations the Services carry.
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
		if err := unstructured.SetNestedField(obj.Object, string(live), "spec", "selector", kube.ColorLabel); err != nil {
			return nil, fmt.Errorf("%s: spec.selector: %w", found.file.path, err)
		}
		ann := obj.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		for _, k := range switchKeys {
			if v := act.Annotations[k]; v != "" {
				ann[k] = v
			} else {
				delete(ann, k)
			}
		}
		obj.SetAnnotations(ann)
		data, err := yaml.Marshal(obj.Object)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", found.file.path, err)
		}
		files = append(files, gitops.File{Path: found.file.path, Data: data})
	}
	return files, nil
}

// retire is the colour's folder scaled to zero: its Deployments get
// replicas 0 and its HorizontalPodAutoscalers go (an HPA cannot scale to
// zero, and would scale it back up). Untouched files keep their bytes. It
// returns the files and the resources for Argo CD to sync and prune, in
// namespace ns unless they name their own.
func retire(g *gitApp, color plan.Color, ns string) ([]gitops.File, []ArgoResource, error) {
	var files []gitops.File
	var refs []ArgoResource
	seen := false
	for i := range g.files {
		f := &g.files[i]
		if f.group != string(color) {
			continue
		}
		seen = true
		var keep []*unstructured.Unstructured
		changed := false
		for _, o := range f.objs {
			gvk := o.GroupVersionKind()
			ref := ArgoResource{Group: gvk.Group, Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}
			if ref.Namespace == "" {
				ref.Namespace = ns // Argo CD puts it in the Application's destination
			}
			switch {
			case gvk.Kind == "HorizontalPodAutoscaler":
				refs, changed = append(refs, ref), true
				continue
			case gvk.Kind == "Deployment" && gvk.Group == "apps":
				refs = append(refs, ref)
				if n, found, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "replicas"); !found || scalarString(n) != "0" {
					o = o.DeepCopy()
					if err := unstructured.SetNestedField(o.Object, int64(0), "spec", "replicas"); err != nil {
						return nil, nil, fmt.Errorf("%s: spec.replicas: %w", f.path, err)
					}
					changed = true
				}
			}
			keep = append(keep, o)
		}
		switch {
		case len(keep) == 0: // the file goes: the folder is owned
		case !changed:
			files = append(files, gitops.File{Path: f.path, Data: f.data})
		default:
			var docs []string
			for _, o := range keep {
				b, err := yaml.Marshal(o.Object)
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
func (s *Stage) commitAndSync(ctx context.Context, argoApp, message string, owned []string, files []gitops.File, refs []ArgoResource) (string, error) {
	t := s.Clock()
	change := gitops.Change{Project: s.Project, Branch: s.Branch, Message: message, Owned: owned, Files: files}
	res, err := gitops.Apply(ctx, s.Repo, change)
	if err != nil {
		return "", fmt.Errorf("gitops commit to %s@%s: %w", s.Project, s.Branch, err)
	}
	for _, a := range res.Actions {
		fmt.Fprintf(s.Out, "  %-6s %s\n", a.Action, a.Path)
	}
	if res.Committed() {
		fmt.Fprintf(s.Out, "  gitops %s@%s: committed %s [%s]\n", s.Project, s.Branch, short(res.Revision), s.Clock().Sub(t).Round(time.Millisecond))
	} else {
		fmt.Fprintf(s.Out, "  gitops %s@%s: %s already holds it (no new commit)\n", s.Project, s.Branch, short(res.Revision))
	}
	removed, err := gitops.Removed(ctx, s.Repo, change, res)
	if err != nil {
		return "", fmt.Errorf("gitops %s@%s: what the change removed: %w", s.Project, s.Branch, err)
	}
	refs = withRemoved(refs, removed)
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	t = s.Clock()
	if err := s.ArgoCD.SyncOnly(ctx, argoApp, res.Revision, refs, true); err != nil {
		return "", fmt.Errorf("argocd sync %q at %s: %w", argoApp, short(res.Revision), err)
	}
	if err := s.waitOperation(ctx, argoApp, res.Revision); err != nil {
		return "", err
	}
	fmt.Fprintf(s.Out, "  argocd %s: synced %d resource(s) at %s [%s]\n", argoApp, len(refs), short(res.Revision), s.Clock().Sub(t).Round(time.Millisecond))
	return res.Revision, nil
}

// waitOperation polls the Application until its sync at revision ends.
func (s *Stage) waitOperation(ctx context.Context, argoApp, revision string) error {
	poll := s.Poll
	if poll <= 0 {
		poll = time.Second
	}
	last := ""
	for {
		app, err := s.ArgoCD.Inspect(ctx, argoApp, false)
		if err == nil && app.Operation != nil && app.Operation.Revision == revision {
			switch op := app.Operation; op.Phase {
			case "Succeeded":
				return nil
			case "Failed", "Error":
				return outcome.Negativef("argocd %s: the sync at %s ended %s%s", argoApp, short(revision), op.Phase, withMsg(op.Message))
			}
			last = app.Operation.Phase
		}
		timer := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			timer.Stop()
			return outcome.Externalf("argocd %s: the sync at %s did not end in time (last: %s): %w", argoApp, short(revision), orNone(last), ctx.Err())
		case <-timer.C:
		}
	}
}

// withRemoved adds to refs the objects a change removed that refs lack.
func withRemoved(refs []ArgoResource, removed []gitops.Object) []ArgoResource {
	have := map[string]bool{}
	for _, r := range refs {
		have[r.Group+"/"+r.Kind+"/"+r.Name] = true
	}
	for _, o := range removed {
		if !have[o.Group+"/"+o.Kind+"/"+o.Name] {
			refs = append(refs, ArgoResource{Group: o.Group, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name})
		}
	}
	return refs
}
