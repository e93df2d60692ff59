package drift

import (
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/traffic"
)

// Capacity restores, directly, the HorizontalPodAutoscaler minReplicas a
// capacity match raised on a colour's Deployment (see kube.Capacity).
type Capacity interface {
	Restore(ctx context.Context, ns, deployment string) (string, error)
}

// restoreFiles are the colour's files in git whose HorizontalPodAutoscalers
// carry a capacity match's raise, with the raise undone
// (traffic.RestoreCapacity), and those HPAs for Argo CD to sync. The raise
// lasts the rollback window: it ends when the other colour is retired.
func restoreFiles(g *gitApp, color plan.Color, ns string) ([]gitops.File, []gitops.Object, error) {
	var files []gitops.File
	var refs []gitops.Object
	for i := range g.files {
		f := &g.files[i]
		if f.group != string(color) {
			continue
		}
		var docs []string
		changed := false
		for _, o := range f.objs {
			out, restored, err := traffic.RestoreCapacity(o.Object)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", f.path, err)
			}
			if restored {
				changed = true
				ref := gitops.Object{Group: "autoscaling", Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName(), File: f.path}
				if ref.Namespace == "" {
					ref.Namespace = ns
				}
				refs = append(refs, ref)
			}
			b, err := yaml.Marshal(out)
			if err != nil {
				return nil, nil, fmt.Errorf("encode %s: %w", f.path, err)
			}
			docs = append(docs, string(b))
		}
		if changed {
			files = append(files, gitops.File{Path: f.path, Data: []byte(strings.Join(docs, "---\n"))})
		}
	}
	return files, refs, nil
}

// restoreLive restores what git did not hold of a raise on the colour's
// Deployment (a rollback raises the colour it goes back to directly), once
// the commit that retired the other colour is synced. It returns what it
// did, "" for nothing.
func (s *Stage) restoreLive(ctx context.Context, a *appLive, color plan.Color) (string, error) {
	d := a.deployments[color]
	if s.Capacity == nil || d == nil {
		return "", nil
	}
	return s.Capacity.Restore(ctx, s.Namespace, d.Name)
}

// lingeringRaise: once the idle colour is retired, no HorizontalPodAutoscaler
// of the live colour keeps the minReplicas a capacity match raised for the
// switch (a restore that failed, or a retirement made by hand). The
// scale-down repair restores it.
func lingeringRaise(a *appLive) []Finding {
	d := a.deployments[a.live]
	if d == nil || pendingMark(a) != "" {
		return nil
	}
	var out []Finding
	for _, h := range a.hpas[d.Name] {
		before, ok := h.Annotations[kube.AnnoMinBefore]
		if !ok {
			continue
		}
		min := int32(1)
		if h.Spec.MinReplicas != nil {
			min = *h.Spec.MinReplicas
		}
		out = append(out, Finding{Severity: Dangerous, Class: "capacity", Object: objRef("HorizontalPodAutoscaler", h.Name), Fix: FixScaleDown,
			Message: fmt.Sprintf("%s is retired, but HorizontalPodAutoscaler %s still has minReplicas %d from the capacity match (it had %q before the switch)", a.live.Other(), h.Name, min, before)})
	}
	return out
}

// restoredNote says which raises were undone: in git (refs) and directly.
func restoredNote(refs []gitops.Object, direct string) string {
	var parts []string
	for _, r := range refs {
		parts = append(parts, "HorizontalPodAutoscaler "+r.Name)
	}
	out := ""
	if len(parts) > 0 {
		out = "; the capacity match's minReplicas restored on " + strings.Join(parts, ", ")
	}
	if direct != "" {
		out += "; " + direct + " (directly)"
	}
	return out
}
