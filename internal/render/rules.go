package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// Labels and annotations bluegreen writes.
const (
	ColorLabel = "bluegreen.dev/color"
	AppLabel   = "bluegreen.dev/app"
	RoleLabel  = "bluegreen.dev/role" // active or preview, on Services
)

// Groups of rendered files: the target colour's own objects, and the objects
// both colours share (Services and everything passed through).
const SharedGroup = "shared"

// Actions recorded per object.
const (
	ActionColored    = "coloured"
	ActionImage      = "image set"
	ActionCopied     = "copied"
	ActionRetargeted = "retargeted"
	ActionActive     = "active"
	ActionPreview    = "preview"
	ActionPassed     = "passed"
)

// Rules are the inputs of the colouring rules (DESIGN.md §4).
type Rules struct {
	App        string
	Namespace  string // wanted namespace; empty means the workload's own
	Image      string
	Container  string // empty means the first container
	Deployment string // empty means the only one
	Live       plan.Color
	Target     plan.Color
}

// Rendered is one output object.
type Rendered struct {
	Obj    *unstructured.Unstructured
	Group  string // the target colour, or SharedGroup
	From   string // the input object, "Kind/name"
	Action string
	Note   string
	src    *Object // the input object, for messages
}

// Result is what the rules produced.
type Result struct {
	Live      plan.Color // none on a first release
	Target    plan.Color
	Namespace string
	Workload  plan.Workload
	Objects   []Rendered // sorted by group, kind, name
}

// Apply runs the colouring rules over the input objects. It changes nothing
// on disk and returns usage errors naming the file, the object and the field.
// Every name it derives is checked by the rule of its kind.
func Apply(r Rules, in []*Object) (*Result, error) {
	if err := checkDuplicates(in); err != nil {
		return nil, err
	}
	w, err := pickWorkload(r, in)
	if err != nil {
		return nil, err
	}
	ns := w.GetNamespace()
	if r.Namespace != "" && ns != "" && ns != r.Namespace {
		return nil, outcome.Usagef("%s: %s: metadata.namespace is %q but --namespace (BG_NAMESPACE) is %q", w.Source, w.ref(), ns, r.Namespace)
	}
	if r.Namespace != "" {
		ns = r.Namespace
	}
	if ns == "" {
		ns = "default"
	}
	if r.Live == "" {
		r.Live = plan.None
	}
	if r.Target == "" || r.Target == r.Live {
		r.Target = r.Live.Other()
	}
	b := &builder{rules: r, in: in, workload: w, colored: &Object{Unstructured: w.DeepCopy(), Source: w.Source}, res: &Result{Live: r.Live, Target: r.Target, Namespace: ns}}
	steps := []func() error{b.colourConfig, b.colourWorkload, b.retarget, b.splitServices, b.passRest}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if err := checkRendered(b.res); err != nil {
		return nil, err
	}
	sortRendered(b.res.Objects)
	return b.res, nil
}

type builder struct {
	rules    Rules
	in       []*Object
	workload *Object           // as in the input, never changed
	colored  *Object           // the workload's copy that the rules change
	podLabel map[string]string // the workload's pod template labels, before colouring
	done     map[*Object]bool  // inputs consumed by a rule
	res      *Result
}

func (b *builder) emit(src *Object, obj *unstructured.Unstructured, group, action, note string) {
	b.res.Objects = append(b.res.Objects, Rendered{Obj: obj, Group: group, From: src.ref(), Action: action, Note: note, src: src})
}

func (b *builder) consume(o *Object) {
	if b.done == nil {
		b.done = map[*Object]bool{}
	}
	b.done[o] = true
}

func pickWorkload(r Rules, in []*Object) (*Object, error) {
	var cands, elsewhere []*Object
	for _, o := range in {
		switch {
		case !isWorkloadKind(o):
		case r.Namespace == "" || o.GetNamespace() == "" || o.GetNamespace() == r.Namespace:
			cands = append(cands, o)
		default:
			elsewhere = append(elsewhere, o)
		}
	}
	if len(cands) == 0 && len(elsewhere) > 0 {
		o := elsewhere[0]
		return nil, outcome.Usagef("%s: %s: metadata.namespace is %q but --namespace (BG_NAMESPACE) is %q", o.Source, o.ref(), o.GetNamespace(), r.Namespace)
	}
	if r.Deployment != "" {
		for _, o := range cands {
			if o.GetName() == r.Deployment {
				return o, nil
			}
		}
		return nil, outcome.Usagef("--deployment (BG_DEPLOYMENT): no Deployment or Rollout named %q in the manifests (found: %s)", r.Deployment, nameList(cands))
	}
	switch len(cands) {
	case 0:
		return nil, outcome.Usagef("manifests: no Deployment (apps/v1) or Argo Rollouts Rollout found; bluegreen needs one to colour")
	case 1:
		return cands[0], nil
	}
	return nil, outcome.Usagef("manifests: %d Deployments (%s); choose the one to colour with --deployment (BG_DEPLOYMENT)", len(cands), nameList(cands))
}

func isWorkloadKind(o *Object) bool {
	gv := o.GroupVersionKind()
	return (gv.Group == "apps" && gv.Kind == "Deployment") || (gv.Group == "argoproj.io" && gv.Kind == "Rollout")
}

func nameList(objs []*Object) string {
	var s []string
	for _, o := range objs {
		s = append(s, o.GetName())
	}
	return strings.Join(s, ", ")
}

func checkDuplicates(in []*Object) error {
	seen := map[string]*Object{}
	for _, o := range in {
		k := o.GroupVersionKind().GroupKind().String() + "/" + o.GetNamespace() + "/" + o.GetName()
		if prev, ok := seen[k]; ok {
			return outcome.Usagef("%s: %s is defined twice (first in %s)", o.Source, o.ref(), prev.Source)
		}
		seen[k] = o
	}
	return nil
}

// colourConfig copies every ConfigMap and Secret that the workload's pod
// spec references as an immutable <name>-<colour>-<hash>, and rewrites the
// references. The copies carry the target colour's config, so a rollback
// brings back the old colour's own config.
func (b *builder) colourConfig() error {
	spec, base, ok := podSpec(b.colored)
	if !ok {
		return outcome.Usagef("%s: %s: field %s is missing", b.workload.Source, b.workload.ref(), strings.Join(podSpecPath[b.workload.GetKind()], "."))
	}
	if b.workload.GetKind() == "Rollout" {
		return nil // Argo Rollouts keeps its own ReplicaSets per revision; config is not coloured.
	}
	copies := map[string]string{} // Kind/name -> coloured name
	uses := map[string]int{}      // coloured name -> references rewritten
	for _, ref := range configRefs(spec, base) {
		key := ref.Kind + "/" + ref.Name()
		if name, ok := copies[key]; ok {
			ref.Rename(name)
			uses[name]++
			continue
		}
		src := b.find(ref.Kind, ref.Name())
		if src == nil {
			if ref.Optional {
				continue
			}
			return outcome.Usagef("%s: %s: %s refers to %s %q, which is not in the manifests", b.workload.Source, b.workload.ref(), ref.Field, ref.Kind, ref.Name())
		}
		cp := src.DeepCopy()
		hash, err := contentHash(cp)
		if err != nil {
			return outcome.Usagef("%s: %s: %w", src.Source, src.ref(), err)
		}
		name := fmt.Sprintf("%s-%s-%s", src.GetName(), b.rules.Target, hash)
		cp.SetName(name)
		cp.SetNamespace(src.GetNamespace())
		addLabels(cp, map[string]string{ColorLabel: string(b.rules.Target), AppLabel: b.rules.App})
		cp.Object["immutable"] = true
		copies[key] = name
		uses[name]++
		ref.Rename(name)
		if b.referencedElsewhere(src) {
			b.emit(src, src.Unstructured.DeepCopy(), SharedGroup, ActionPassed, "also used by other workloads")
		}
		b.consume(src)
		b.emit(src, cp, string(b.rules.Target), ActionCopied, "")
	}
	for i := range b.res.Objects {
		o := &b.res.Objects[i]
		if n := uses[o.Obj.GetName()]; o.Action == ActionCopied && n > 0 {
			o.Note = fmt.Sprintf("immutable, %d reference(s) rewritten", n)
		}
	}
	return nil
}

// find returns the input object of kind and name in the workload's namespace.
func (b *builder) find(kind, name string) *Object {
	for _, o := range b.in {
		if o.GetKind() == kind && o.GetName() == name && sameNamespace(o, b.workload) {
			return o
		}
	}
	return nil
}

func sameNamespace(a, b *Object) bool {
	return a.GetNamespace() == "" || b.GetNamespace() == "" || a.GetNamespace() == b.GetNamespace()
}

// referencedElsewhere reports whether another workload in the input uses the
// same ConfigMap or Secret, in which case the original must stay.
func (b *builder) referencedElsewhere(cfg *Object) bool {
	for _, o := range b.in {
		if o == b.workload {
			continue
		}
		spec, base, ok := podSpec(o)
		if !ok {
			continue
		}
		for _, ref := range configRefs(spec, base) {
			if ref.Kind == cfg.GetKind() && ref.Name() == cfg.GetName() && sameNamespace(o, cfg) {
				return true
			}
		}
	}
	return false
}

// contentHash is a short digest of what a ConfigMap or Secret carries, so
// that a change of content gives a new name.
func contentHash(u *unstructured.Unstructured) (string, error) {
	content := map[string]any{}
	for _, k := range []string{"data", "binaryData", "stringData", "type"} {
		if v, ok := u.Object[k]; ok {
			content[k] = v
		}
	}
	b, err := json.Marshal(content) // encoding/json sorts map keys: stable
	if err != nil {
		return "", fmt.Errorf("hash content: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:10], nil
}

func addLabels(u *unstructured.Unstructured, add map[string]string) {
	l := u.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	for k, v := range add {
		l[k] = v
	}
	u.SetLabels(l)
}

func (b *builder) passRest() error {
	for _, o := range b.in {
		if b.done[o] {
			continue
		}
		b.emit(o, o.Unstructured.DeepCopy(), SharedGroup, ActionPassed, "")
	}
	return nil
}

func sortRendered(objs []Rendered) {
	sort.SliceStable(objs, func(i, j int) bool {
		a, c := objs[i], objs[j]
		if a.Group != c.Group {
			return a.Group < c.Group
		}
		if a.Obj.GetKind() != c.Obj.GetKind() {
			return a.Obj.GetKind() < c.Obj.GetKind()
		}
		if a.Obj.GetNamespace() != c.Obj.GetNamespace() {
			return a.Obj.GetNamespace() < c.Obj.GetNamespace()
		}
		return a.Obj.GetName() < c.Obj.GetName()
	})
}

// selects reports whether a label selector matches the pod labels.
func selects(sel *metav1.LabelSelector, pod map[string]string) bool {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(pod))
}
