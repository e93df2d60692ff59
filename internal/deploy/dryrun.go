package deploy

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// Differ compares objects with the live cluster.
type Differ interface {
	Diff(ctx context.Context, ns string, objs []*unstructured.Unstructured) ([]kube.Change, error)
}

// DryRun shows, changing nothing, the files the GitOps commit would change
// and the diff between the rendered objects and the live cluster. Like
// `argocd app diff`, it returns nil when nothing would change and a
// negative-kind error (exit 1) when something would.
func (s *Stage) DryRun(ctx context.Context, p *plan.Plan, differ Differ) error {
	files, err := loadRendered(s.OutDir, p, s.Folder)
	if err != nil {
		return err
	}
	head, err := s.Repo.BranchHead(ctx, s.Project, s.Branch)
	if err != nil {
		return outcome.As(outcome.External, err)
	}
	actions, err := gitops.Actions(ctx, s.Repo, s.Project, head, managedDirs(s.Folder, p.TargetColor), files)
	if err != nil {
		return outcome.As(outcome.External, err)
	}
	fmt.Fprintf(s.Out, "dry run: the commit to %s@%s (at %s) would change %d file(s)\n", s.Project, s.Branch, short(head), len(actions))
	for _, a := range actions {
		fmt.Fprintf(s.Out, "  %-6s %s\n", a.Action, a.Path)
	}
	objs, err := decode(files)
	if err != nil {
		return err
	}
	diffs, err := differ.Diff(ctx, p.Namespace, objs)
	if err != nil {
		return err
	}
	changed := 0
	fmt.Fprintf(s.Out, "dry run: the rendered objects against the live cluster (namespace %s)\n", p.Namespace)
	for _, d := range diffs {
		if d.Action == "none" {
			fmt.Fprintf(s.Out, "  unchanged %s\n", d.Ref)
			continue
		}
		changed++
		fmt.Fprintf(s.Out, "  %-9s %s\n", d.Action, d.Ref)
		for _, line := range strings.Split(d.Diff, "\n") {
			fmt.Fprintf(s.Out, "    %s\n", line)
		}
	}
	if len(actions) == 0 && changed == 0 {
		fmt.Fprintln(s.Out, "dry run: no changes")
		return nil
	}
	return outcome.Negativef("dry run: %d file(s) and %d object(s) would change", len(actions), changed)
}

func decode(files []gitops.File) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, f := range files {
		var m map[string]any
		if err := yaml.Unmarshal(f.Data, &m); err != nil {
			return nil, outcome.Usagef("rendered %s: %w", f.Path, err)
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	return objs, nil
}
