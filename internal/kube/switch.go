package kube

import (
	"context"
	"encoding/json"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// The annotations bluegreen keeps on an active Service. The selector is the
// truth for traffic; these say how it got there.
const (
	AnnoLive             = "bluegreen.dev/live-color"
	AnnoPrevious         = "bluegreen.dev/previous-color"
	AnnoRevision         = "bluegreen.dev/revision"     // the GitOps revision of the release now live
	AnnoPipelineID       = "bluegreen.dev/pipeline-id"  // the pipeline that made it live
	AnnoPipelineURL      = "bluegreen.dev/pipeline-url" //
	AnnoImage            = "bluegreen.dev/image"        //
	AnnoSwitchedAt       = "bluegreen.dev/switched-at"  // RFC 3339
	AnnoIdleUntil        = "bluegreen.dev/idle-until"   // end of the rollback window: the idle colour may be scaled down after it
	AnnoPendingReconcile = "bluegreen.dev/pending-reconcile"
)

// Active is an active Service's traffic state.
type Active struct {
	Name            string
	Selected        plan.Color // the colour its selector pins; "" when none
	Annotations     map[string]string
	ResourceVersion string
}

// Active reads the traffic state of the Service name.
func (s Services) Active(ctx context.Context, ns, name string) (Active, error) {
	svc, err := s.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Active{}, outcome.Usagef("active Service %s/%s does not exist: was the release synced?", ns, name)
	}
	if err != nil {
		return Active{}, outcome.Externalf("read Service %s/%s: %w", ns, name, err)
	}
	return Active{Name: name, Selected: plan.Color(svc.Spec.Selector[ColorLabel]), Annotations: svc.Annotations, ResourceVersion: svc.ResourceVersion}, nil
}

// SetColor points the Service's selector at color and sets annotations, in
// one merge patch guarded by the resourceVersion just read: a concurrent
// writer makes the patch fail with a conflict, and it is redone on a fresh
// read (client-go's RetryOnConflict), so no write is ever lost or blind.
func (s Services) SetColor(ctx context.Context, ns, name string, color plan.Color, annotations map[string]string) error {
	return s.patch(ctx, ns, name, func(rv string) map[string]any {
		ann := map[string]any{}
		for k, v := range annotations {
			ann[k] = v
		}
		return map[string]any{
			"metadata": map[string]any{"resourceVersion": rv, "annotations": ann},
			"spec":     map[string]any{"selector": map[string]any{ColorLabel: string(color)}},
		}
	})
}

// Annotate sets annotations (a nil value removes one), guarded like SetColor.
func (s Services) Annotate(ctx context.Context, ns, name string, annotations map[string]*string) error {
	return s.patch(ctx, ns, name, func(rv string) map[string]any {
		ann := map[string]any{}
		for k, v := range annotations {
			if v == nil {
				ann[k] = nil
			} else {
				ann[k] = *v
			}
		}
		return map[string]any{"metadata": map[string]any{"resourceVersion": rv, "annotations": ann}}
	})
}

func (s Services) patch(ctx context.Context, ns, name string, build func(rv string) map[string]any) error {
	svcs := s.Client.CoreV1().Services(ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := svcs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		body, err := json.Marshal(build(cur.ResourceVersion))
		if err != nil {
			return err
		}
		_, err = svcs.Patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager})
		return err
	})
	switch {
	case err == nil:
		return nil
	case apierrors.IsForbidden(err):
		return outcome.Usagef("patch Service %s/%s: %w (the bluegreen Role needs patch on services)", ns, name, err)
	}
	return outcome.Externalf("patch Service %s/%s: %w", ns, name, err)
}
