package render

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// ColoredName is the name of a colour's copy of an object.
func ColoredName(name string, c plan.Color) string { return name + "-" + string(c) }

// colourWorkload renames the Deployment to <name>-<colour>, puts the colour
// label on its metadata, selector and pod template, and sets the image. A
// Rollout keeps its name: Argo Rollouts does the colouring itself.
func (b *builder) colourWorkload() error {
	w := b.workload
	out := b.colored.Unstructured
	podLabels, _, _ := unstructured.NestedStringMap(w.Object, "spec", "template", "metadata", "labels")
	b.podLabel = podLabels
	container, err := setImage(w, out, b.rules.Container, b.rules.Image)
	if err != nil {
		return err
	}
	b.res.Workload = plan.Workload{Kind: w.GetKind(), Name: w.GetName(), Container: container}
	b.consume(w)
	if w.GetKind() == "Rollout" {
		if _, ok, _ := unstructured.NestedMap(w.Object, "spec", "strategy", "blueGreen"); !ok {
			return outcome.Usagef("%s: %s: spec.strategy.blueGreen is missing; bluegreen drives only blue-green Rollouts", w.Source, w.ref())
		}
		addLabels(out, map[string]string{AppLabel: b.rules.App})
		b.emit(w, out, SharedGroup, ActionImage, fmt.Sprintf("image set on container %q; Argo Rollouts colours it", container))
		return nil
	}
	color := string(b.rules.Target)
	if len(podLabels) == 0 {
		return outcome.Usagef("%s: %s: spec.template.metadata.labels is empty; the colour label needs the pods to have labels", w.Source, w.ref())
	}
	out.SetName(ColoredName(w.GetName(), b.rules.Target))
	addLabels(out, map[string]string{ColorLabel: color, AppLabel: b.rules.App})
	if err := unstructured.SetNestedField(out.Object, color, "spec", "selector", "matchLabels", ColorLabel); err != nil {
		return outcome.Usagef("%s: %s: spec.selector.matchLabels: %w", w.Source, w.ref(), err)
	}
	for k, v := range map[string]string{ColorLabel: color, AppLabel: b.rules.App} {
		if err := unstructured.SetNestedField(out.Object, v, "spec", "template", "metadata", "labels", k); err != nil {
			return outcome.Usagef("%s: %s: spec.template.metadata.labels: %w", w.Source, w.ref(), err)
		}
	}
	b.res.Workload.Colored = out.GetName()
	b.emit(w, out, color, ActionColored, fmt.Sprintf("image set on container %q", container))
	return nil
}

// setImage sets the image of the named container (or the first) in out, and
// returns the container's name.
func setImage(w *Object, out *unstructured.Unstructured, name, image string) (string, error) {
	spec, base, _ := podSpec(&Object{Unstructured: out})
	containers := sliceOfMaps(spec["containers"])
	if len(containers) == 0 {
		return "", outcome.Usagef("%s: %s: %s.containers is empty", w.Source, w.ref(), base)
	}
	var found []string
	for i, c := range containers {
		cname, _ := c["name"].(string)
		found = append(found, cname)
		if name == "" && i == 0 || cname == name {
			c["image"] = image
			return cname, nil
		}
	}
	return "", outcome.Usagef("--container (BG_CONTAINER): %s: %s has no container %q (found: %v)", w.Source, w.ref(), name, found)
}

// retarget points the workload's HorizontalPodAutoscalers and
// PodDisruptionBudgets at the coloured Deployment.
func (b *builder) retarget() error {
	if b.workload.GetKind() == "Rollout" {
		return nil
	}
	color := b.rules.Target
	for _, o := range b.in {
		switch o.GetKind() {
		case "HorizontalPodAutoscaler":
			kind, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "kind")
			name, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
			if kind != b.workload.GetKind() || name != b.workload.GetName() || !sameNamespace(o, b.workload) {
				continue
			}
			out := o.Unstructured.DeepCopy()
			out.SetName(ColoredName(o.GetName(), color))
			addLabels(out, map[string]string{ColorLabel: string(color), AppLabel: b.rules.App})
			_ = unstructured.SetNestedField(out.Object, ColoredName(name, color), "spec", "scaleTargetRef", "name")
			b.consume(o)
			b.emit(o, out, string(color), ActionRetargeted, "scaleTargetRef.name "+ColoredName(name, color))
		case "PodDisruptionBudget":
			sel, err := labelSelector(o, "spec", "selector")
			if err != nil {
				return err
			}
			if !selects(sel, b.podLabel) || !sameNamespace(o, b.workload) {
				continue
			}
			out := o.Unstructured.DeepCopy()
			out.SetName(ColoredName(o.GetName(), color))
			addLabels(out, map[string]string{ColorLabel: string(color), AppLabel: b.rules.App})
			_ = unstructured.SetNestedField(out.Object, string(color), "spec", "selector", "matchLabels", ColorLabel)
			b.consume(o)
			b.emit(o, out, string(color), ActionRetargeted, "selector + "+ColorLabel+"="+string(color))
		}
	}
	return nil
}

func labelSelector(o *Object, path ...string) (*metav1.LabelSelector, error) {
	m, ok, _ := unstructured.NestedMap(o.Object, path...)
	if !ok {
		return nil, nil
	}
	var sel metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &sel); err != nil {
		return nil, outcome.Usagef("%s: %s: spec.selector: %w", o.Source, o.ref(), err)
	}
	return &sel, nil
}

// splitServices turns every Service that selects the workload's pods into an
// active Service (its own name, selecting the live colour, or the target on a
// first release) and a <name>-preview Service selecting the target colour.
func (b *builder) splitServices() error {
	if b.workload.GetKind() == "Rollout" {
		return b.labelRolloutServices()
	}
	active := b.rules.Live
	if active == plan.None || active == "" {
		active = b.rules.Target
	}
	for _, o := range b.in {
		if o.GetKind() != "Service" || o.GroupVersionKind().Group != "" || !sameNamespace(o, b.workload) {
			continue
		}
		sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector")
		if !selects(&metav1.LabelSelector{MatchLabels: sel}, b.podLabel) {
			continue
		}
		if err := checkServicePorts(o); err != nil {
			return err
		}
		b.consume(o)
		act := o.Unstructured.DeepCopy()
		addLabels(act, map[string]string{AppLabel: b.rules.App, RoleLabel: "active"})
		_ = unstructured.SetNestedField(act.Object, string(active), "spec", "selector", ColorLabel)
		b.emit(o, act, SharedGroup, ActionActive, "selects "+string(active))

		prev := previewService(o.Unstructured, b.rules.Target)
		addLabels(prev, map[string]string{AppLabel: b.rules.App, RoleLabel: "preview"})
		b.emit(o, prev, SharedGroup, ActionPreview, "selects "+string(b.rules.Target))
		pair := plan.ServicePair{Active: act.GetName(), Preview: prev.GetName()}
		if ports := sliceOfMaps(prev.Object["spec"].(map[string]any)["ports"]); len(ports) > 0 {
			pair.Port, _ = ports[0]["port"].(int64)
		}
		b.res.Workload.Services = append(b.res.Workload.Services, pair)
	}
	return nil
}

// previewService is the preview copy of an active Service. It is always a
// ClusterIP Service: a preview must not grab a node port or a load balancer.
func previewService(svc *unstructured.Unstructured, target plan.Color) *unstructured.Unstructured {
	p := svc.DeepCopy()
	p.SetName(svc.GetName() + "-preview")
	spec, _ := p.Object["spec"].(map[string]any)
	for _, f := range []string{"clusterIP", "clusterIPs", "externalIPs", "loadBalancerIP", "loadBalancerSourceRanges", "externalTrafficPolicy", "healthCheckNodePort", "allocateLoadBalancerNodePorts", "loadBalancerClass", "externalName"} {
		delete(spec, f)
	}
	spec["type"] = "ClusterIP"
	for _, port := range sliceOfMaps(spec["ports"]) {
		delete(port, "nodePort")
	}
	_ = unstructured.SetNestedField(p.Object, string(target), "spec", "selector", ColorLabel)
	return p
}

// labelRolloutServices labels the Rollout's active and preview Services
// with the app and their role, as splitServices does for a Deployment, so
// that drift finds the app. Argo Rollouts adds the ReplicaSet hash to their
// selectors; bluegreen leaves the selectors alone.
func (b *builder) labelRolloutServices() error {
	for _, role := range []string{"active", "preview"} {
		name, _, _ := unstructured.NestedString(b.workload.Object, "spec", "strategy", "blueGreen", role+"Service")
		if name == "" {
			continue
		}
		o := b.find("Service", name)
		if o == nil {
			return outcome.Usagef("%s: %s: spec.strategy.blueGreen.%sService names Service %q, which is not in the manifests", b.workload.Source, b.workload.ref(), role, name)
		}
		out := o.Unstructured.DeepCopy()
		addLabels(out, map[string]string{AppLabel: b.rules.App, RoleLabel: role})
		b.consume(o)
		b.emit(o, out, SharedGroup, ActionPassed, "the Rollout's "+role+" Service; Argo Rollouts sets its selector's "+rolloutsHashLabel)
	}
	return nil
}

// rolloutsHashLabel is the label by which Argo Rollouts' Services select
// one ReplicaSet's pods.
const rolloutsHashLabel = "rollouts-pod-template-hash"
