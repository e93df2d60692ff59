package config

import "os"

// Render configures `bluegreen render`.
type Render struct {
	Common
	Notify
	Manifests  string `env:"BG_MANIFESTS" flag:"manifests" help:"the app's manifests: a folder of YAML, one multi-document file, or a kustomization folder"`
	Image      string `env:"BG_IMAGE" flag:"image" help:"release image for the target colour"`
	Container  string `env:"BG_CONTAINER" flag:"container" help:"container that gets the image (default: the first)"`
	Deployment string `env:"BG_DEPLOYMENT" flag:"deployment" help:"Deployment to colour, when the manifests hold more than one"`
	LiveColor  string `env:"BG_LIVE_COLOR" flag:"live-color" help:"live colour: blue, green or none (first release); default: read from the active Service in the cluster"`
	ProjectDir string `env:"BG_PROJECT_DIR" flag:"project-dir" help:"the folder a kustomization's local files must stay inside (default: $CI_PROJECT_DIR when it exists, else the manifests folder)"`
	// AllowRemote lets a kustomization name remote resources and bases;
	// each must be pinned to a commit SHA or a version tag. Off, nothing is
	// ever fetched: a remote reference is refused, naming its URL.
	AllowRemote bool `env:"BG_KUSTOMIZE_ALLOW_REMOTE" flag:"allow-remote" help:"let a kustomization fetch remote resources and bases, each pinned with ?ref= to a commit SHA or version tag (default: refused, nothing is fetched)"`
}

// Root is the project folder a kustomization must stay inside:
// --project-dir, else $CI_PROJECT_DIR when it is a folder here, else ""
// (the manifests folder itself, the strictest).
func (c *Render) Root() string {
	if c.ProjectDir != "" {
		return c.ProjectDir
	}
	if st, err := os.Stat(c.CI.ProjectDir); err == nil && st.IsDir() {
		return c.CI.ProjectDir
	}
	return ""
}

// Validate checks the render settings.
func (c *Render) Validate() error {
	var ps Problems
	c.Common.Validate(&ps)
	c.Notify.Validate(&ps)
	if c.Manifests == "" {
		ps.Add("BG_MANIFESTS", "--manifests", "required")
	} else if _, err := os.Stat(c.Manifests); err != nil {
		ps.Add("BG_MANIFESTS", "--manifests", "%q cannot be read: %v", c.Manifests, unwrapPathError(err))
	}
	if c.Image == "" {
		ps.Add("BG_IMAGE", "--image", "required")
	} else if !validImage(c.Image) {
		ps.Add("BG_IMAGE", "--image", "%q is not an image reference", c.Image)
	}
	switch c.LiveColor {
	case "", "blue", "green", "none":
	default:
		ps.Add("BG_LIVE_COLOR", "--live-color", "%q is not blue, green or none", c.LiveColor)
	}
	return ps.Err()
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
