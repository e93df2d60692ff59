package traffic

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// Scaler reads, raises and restores a colour's capacity (see kube.Capacity).
type Scaler interface {
	Size(ctx context.Context, ns, deployment string) (kube.Size, error)
	Raise(ctx context.Context, ns, deployment string, s kube.Size, n int32) error
	WaitReady(ctx context.Context, ns, deployment string, services []string, n int32, progress func(string)) (int32, error)
	Restore(ctx context.Context, ns, deployment string) (string, error)
}

// matchCapacity makes the colour about to take live traffic at least as big
// as the colour that has it now: it reads the live colour's ready replicas,
// raises the target's replicas (or its HPA's minReplicas, which the HPA
// then acts on) through git and Argo CD when gitops is set and the plan
// rendered the target, else directly, and waits until that many target
// pods are Ready and in services' EndpointSlices. Past the deadline it is
// a timeout (exit 3) and traffic is unchanged.
func (s *Stage) matchCapacity(ctx context.Context, p *plan.Plan, target, live plan.Color, services []string, gitops bool) (*plan.Capacity, error) {
	if s.NoCapacityMatch || s.Scaler == nil {
		fmt.Fprintln(s.Out, "capacity: not matched (--no-capacity-match)")
		return nil, nil
	}
	t := s.Clock()
	liveName, targetName := coloredName(p, live), coloredName(p, target)
	ls, err := s.Scaler.Size(ctx, p.Namespace, liveName)
	if err != nil {
		return nil, err
	}
	ts, err := s.Scaler.Size(ctx, p.Namespace, targetName)
	if err != nil {
		return nil, err
	}
	c := &plan.Capacity{Color: target, Live: ls.Ready, Before: ts.Ready, Want: ls.Ready, HPA: ts.HPA}
	if ts.HPA != "" {
		c.HPAMin, c.RaisedMin = ts.HPAMin, ts.HPAMin
	}
	if !ls.Exists || !ts.Exists || ls.Ready == 0 {
		fmt.Fprintf(s.Out, "capacity: live %s has %d ready pod(s); nothing to match\n", live, ls.Ready)
		return nil, nil
	}
	fmt.Fprintf(s.Out, "capacity: live %s has %d ready pod(s), %s has %d (replicas %d%s)\n", live, ls.Ready, target, ts.Ready, ts.Replicas, hpaNote(ts))
	if need := ls.Ready; ts.Replicas < need || (ts.HPA != "" && ts.HPAMin < need) {
		if err := s.raise(ctx, p, targetName, target, ts, need, gitops); err != nil {
			return nil, err
		}
		if ts.HPA != "" {
			c.RaisedMin = need
		}
	}
	wctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	got, err := s.Scaler.WaitReady(wctx, p.Namespace, targetName, services, ls.Ready, func(state string) {
		fmt.Fprintf(s.Out, "  capacity: %s: %s [%s]\n", targetName, state, s.Clock().Sub(t).Round(100*time.Millisecond))
	})
	if err != nil {
		fmt.Fprintf(s.Out, "capacity: %s has %d of the %d Ready pods live %s has: traffic unchanged\n", target, got, ls.Ready, live)
		return nil, err
	}
	c.After = got
	s.matched = c
	fmt.Fprintf(s.Out, "capacity: %s has %d Ready pod(s) in %v for live %s's %d [%s]\n", target, got, services, live, ls.Ready, s.Clock().Sub(t).Round(time.Millisecond))
	return c, nil
}

func hpaNote(sz kube.Size) string {
	if sz.HPA == "" {
		return ""
	}
	return fmt.Sprintf(", HorizontalPodAutoscaler %s minReplicas %d", sz.HPA, sz.HPAMin)
}

// raise raises the target to n replicas, in git when it can.
func (s *Stage) raise(ctx context.Context, p *plan.Plan, deployment string, target plan.Color, ts kube.Size, n int32, useGit bool) error {
	what := fmt.Sprintf("Deployment %s replicas %d → %d", deployment, ts.Replicas, n)
	if ts.HPA != "" {
		what = fmt.Sprintf("HorizontalPodAutoscaler %s minReplicas %d → %d", ts.HPA, ts.HPAMin, n)
	}
	if useGit && target == p.TargetColor {
		files, err := capacityFiles(s.OutDir, s.Folder, p, deployment, n)
		if err != nil {
			return err
		}
		if len(files) > 0 {
			msg := fmt.Sprintf("bluegreen: %s %s capacity: %s for the switch (live has %d ready)\n\nPipeline: %s\n", p.App, envName(p), what, n, p.Pipeline.URL)
			rev, err := s.commitAndSync(ctx, msg, nil, files)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.Out, "capacity: %s at %s\n", what, short(rev))
			return nil
		}
	}
	t := s.Clock()
	if err := s.Scaler.Raise(ctx, p.Namespace, deployment, ts, n); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "capacity: %s directly [%s]\n", what, s.Clock().Sub(t).Round(time.Millisecond))
	return nil
}

// capacityFiles are the target colour's rendered HPA with minReplicas (and
// maxReplicas) at least n, and its Deployment with n replicas when git
// holds its replicas (without an HPA, or beside one): a later sync then
// keeps the capacity instead of scaling it back.
func capacityFiles(outDir, folder string, p *plan.Plan, deployment string, n int32) ([]gitops.File, error) {
	prefix := string(p.TargetColor) + "/"
	var files []gitops.File
	for _, o := range p.Rendered.Objects {
		if !strings.HasPrefix(o.File, prefix) || (o.Kind != "Deployment" && o.Kind != "HorizontalPodAutoscaler") {
			continue
		}
		m, err := renderedObject(outDir, p, o)
		if err != nil {
			return nil, err
		}
		switch ref, _, _ := unstructured.NestedString(m, "spec", "scaleTargetRef", "name"); {
		case o.Kind == "Deployment" && o.Name == deployment:
			if _, found, _ := unstructured.NestedFieldNoCopy(m, "spec", "replicas"); !found {
				continue // the HPA alone sizes it
			}
			_ = unstructured.SetNestedField(m, int64(n), "spec", "replicas")
		case o.Kind == "HorizontalPodAutoscaler" && ref == deployment:
			raiseHPA(m, n)
		default:
			continue
		}
		data, err := encode(o, m)
		if err != nil {
			return nil, err
		}
		files = append(files, gitops.File{Path: path.Join(folder, o.File), Data: data})
	}
	return files, nil
}

// raiseHPA sets a HorizontalPodAutoscaler's minReplicas (and maxReplicas
// when below) to n and notes the values before in its annotations, for the
// restore after the rollback window (kube.Capacity.Restore, drift --fix).
func raiseHPA(m map[string]any, n int32) {
	u := unstructured.Unstructured{Object: m}
	notes := u.GetAnnotations()
	if notes == nil {
		notes = map[string]string{}
	}
	_, raised := notes[kube.AnnoMinBefore]
	min := int64(1) // the API's default
	if v, found, _ := unstructured.NestedFieldNoCopy(m, "spec", "minReplicas"); found {
		min = asInt(v)
	}
	if !raised {
		notes[kube.AnnoMinBefore] = fmt.Sprint(min)
	}
	_ = unstructured.SetNestedField(m, int64(n), "spec", "minReplicas")
	if v, _, _ := unstructured.NestedFieldNoCopy(m, "spec", "maxReplicas"); asInt(v) < int64(n) {
		if !raised {
			notes[kube.AnnoMaxBefore] = fmt.Sprint(asInt(v))
		}
		_ = unstructured.SetNestedField(m, int64(n), "spec", "maxReplicas")
	}
	u.SetAnnotations(notes)
}

// restoreCapacity puts back the HorizontalPodAutoscaler minReplicas that a
// capacity match raised on color, directly (a rollback raises the colour
// it goes back to directly: its files are not in this plan).
func (s *Stage) restoreCapacity(ctx context.Context, p *plan.Plan, color plan.Color) error {
	if s.Scaler == nil {
		return nil
	}
	what, err := s.Scaler.Restore(ctx, p.Namespace, coloredName(p, color))
	if err != nil {
		return err
	}
	if what != "" {
		fmt.Fprintf(s.Out, "capacity: %s, now that %s is the only colour\n", what, color)
	}
	return nil
}

// previews are the app's preview Service names.
func previews(p *plan.Plan) []string {
	var names []string
	for _, s := range p.Workload.Services {
		if s.Preview != "" {
			names = append(names, s.Preview)
		}
	}
	return names
}

// asInt reads a YAML number (float64 once unmarshalled).
func asInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	case int:
		return int64(n)
	}
	return 0
}
