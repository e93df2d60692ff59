package argocd

import (
	"context"
	"fmt"

	"github.com/argoproj/argo-cd/v3/pkg/apiclient/account"
	"github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
)

// Spec is what a preflight needs of an Application's definition: where
// it reads git, and its automated-sync stance.
type Spec struct {
	Project string
	RepoURL string
	Path    string // source.path, the folder in git
	Recurse bool   // source.directory.recurse: manifests in subfolders too
	Policy  Policy
	// Sources is the number of sources; bluegreen needs exactly one.
	Sources int
}

// Describe reads app's definition (not its status).
func (c *Client) Describe(ctx context.Context, app string) (Spec, error) {
	var out Spec
	err := c.call(ctx, func(ctx context.Context, apps application.ApplicationServiceClient) error {
		a, err := apps.Get(ctx, &application.ApplicationQuery{Name: &app})
		if err != nil {
			return err
		}
		out = Spec{Project: a.Spec.Project, Policy: appOf(a).Policy, Sources: len(a.Spec.GetSources())}
		if src := a.Spec.GetSourcePtrByIndex(0); src != nil {
			out.RepoURL, out.Path = src.RepoURL, src.Path
			out.Recurse = src.Directory != nil && src.Directory.Recurse
		}
		return nil
	})
	if err != nil {
		return Spec{}, fmt.Errorf("argocd get %q: %w", app, err)
	}
	return out, nil
}

// CanI asks Argo CD whether the token's account may take action on
// resource's object, as `argocd account can-i` does: for applications the
// object is "<project>/<app>". It answers from the server's RBAC policy.
func (c *Client) CanI(ctx context.Context, resource, action, object string) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, c.opts.CallTimeout)
	defer cancel()
	conn, acc, err := c.api.NewAccountClientWithContext(cctx)
	if err != nil {
		return false, fmt.Errorf("argocd can-i %s %s %s: %w", action, resource, object, err)
	}
	defer conn.Close()
	resp, err := acc.CanI(cctx, &account.CanIRequest{Resource: resource, Action: action, Subresource: object})
	if err != nil {
		return false, fmt.Errorf("argocd can-i %s %s %s: %w", action, resource, object, err)
	}
	return resp.Value == "yes", nil
}

// Unreachable reports whether err says Argo CD could not be reached or
// did not answer (as opposed to a refusal or a missing Application).
func Unreachable(err error) bool { return transient(context.Background(), err) }
