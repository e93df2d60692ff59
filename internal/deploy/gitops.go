package deploy

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// loadRendered reads the files render wrote and checks each against the
// digest in the plan, so that what is committed is exactly what was
// rendered (and approved later against the same digest).
func loadRendered(outDir string, p *plan.Plan, folder string) ([]gitops.File, error) {
	if len(p.Rendered.Objects) == 0 {
		return nil, outcome.Usagef("plan.json lists no rendered objects: run `bluegreen render` first")
	}
	var files []gitops.File
	for _, o := range p.Rendered.Objects {
		data, err := p.ReadRendered(outDir, o)
		if err != nil {
			return nil, err
		}
		files = append(files, gitops.File{Path: path.Join(folder, o.File), Data: data})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// managedDirs are the folders a sync owns: the target colour's and the
// shared one. The live colour's folder is never touched.
func managedDirs(folder string, target plan.Color) []string {
	return []string{path.Join(folder, string(target)), path.Join(folder, "shared")}
}

// commitMessage names the app, environment, colour, image and pipeline.
func commitMessage(p *plan.Plan) string {
	var b strings.Builder
	env := p.Environment
	if env == "" {
		env = p.Namespace
	}
	fmt.Fprintf(&b, "bluegreen: %s %s → %s (%s)\n\n", p.App, env, p.TargetColor, p.Image)
	fmt.Fprintf(&b, "App: %s\nEnvironment: %s\nNamespace: %s\nColour: %s (live: %s)\nImage: %s\nDigest: %s\n",
		p.App, env, p.Namespace, p.TargetColor, p.LiveColor, p.Image, p.Rendered.Digest)
	if p.Commit != "" {
		fmt.Fprintf(&b, "Source commit: %s\n", p.Commit)
	}
	if p.Pipeline.URL != "" {
		fmt.Fprintf(&b, "Pipeline: %s\n", p.Pipeline.URL)
	}
	return b.String()
}
