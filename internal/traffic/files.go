package traffic

import (
	"context"
	"fmt"
	"path"
	"strings"

	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/converge"
	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// renderedObject reads one rendered object of the plan.
func renderedObject(outDir string, p *plan.Plan, o plan.Object) (map[string]any, error) {
	data, err := p.ReadRendered(outDir, o)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, outcome.Usagef("rendered file %s: %w", o.File, err)
	}
	return m, nil
}

func encode(o plan.Object, m map[string]any) ([]byte, error) {
	b, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s/%s: %w", o.Kind, o.Name, err)
	}
	return b, nil
}

// activeFiles are the active Services' files in the GitOps folder, with the
// selector on color and the switch's annotations.
func activeFiles(outDir, folder string, p *plan.Plan, color plan.Color, annotations map[string]string) ([]gitops.File, error) {
	want := map[string]bool{}
	for _, name := range actives(p) {
		want[name] = true
	}
	var files []gitops.File
	for _, o := range p.Rendered.Objects {
		if o.Kind != "Service" || !want[o.Name] || !strings.HasPrefix(o.File, "shared/") {
			continue
		}
		m, err := renderedObject(outDir, p, o)
		if err != nil {
			return nil, err
		}
		if err := SelectColor(m, color, annotations); err != nil {
			return nil, outcome.Usagef("rendered Service %s: %w", o.Name, err)
		}
		data, err := encode(o, m)
		if err != nil {
			return nil, err
		}
		files = append(files, gitops.File{Path: path.Join(folder, o.File), Data: data})
	}
	if len(files) != len(want) {
		return nil, outcome.Usagef("plan.json lists %d active Services but %d were rendered", len(want), len(files))
	}
	return files, nil
}

// retireFiles scale the rendered target colour to zero in git, as Retire
// says. The colour's folder is returned as owned, so that a dropped
// object's file (the HPA's) is deleted.
func retireFiles(outDir, folder string, p *plan.Plan) (string, []gitops.File, error) {
	prefix := string(p.TargetColor) + "/"
	var files []gitops.File
	for _, o := range p.Rendered.Objects {
		if !strings.HasPrefix(o.File, prefix) {
			continue
		}
		m, err := renderedObject(outDir, p, o)
		if err != nil {
			return "", nil, err
		}
		m, what, err := Retire(m)
		if err != nil {
			return "", nil, outcome.Usagef("rendered file %s: %w", o.File, err)
		}
		if what == Dropped {
			continue
		}
		data, err := encode(o, m)
		if err != nil {
			return "", nil, err
		}
		files = append(files, gitops.File{Path: path.Join(folder, o.File), Data: data})
	}
	return path.Join(folder, string(p.TargetColor)), files, nil
}

// commitAndSync commits the files, syncs Argo CD at the commit (pruning
// what the commit removed from the owned folders) and waits until it is
// Synced and Healthy. It returns the revision.
func (s *Stage) commitAndSync(ctx context.Context, message string, owned []string, files []gitops.File) (string, error) {
	step := converge.Step{Repo: s.Repo, ArgoCD: s.ArgoCD, App: s.ArgoApp, Timeout: s.Timeout, Out: s.Out, Log: s.Log, Clock: s.Clock}
	return step.Run(ctx, gitops.Change{
		Project: s.Project, Branch: s.Branch, Message: message, Owned: owned, Files: files, Pause: s.Pause,
	})
}
