package doctor

import (
	"context"
	"errors"
	"fmt"

	"gitlab.com/platform/bluegreen/internal/slack"
)

// SlackAPI is what the Slack checks ask (slack.Inspector); it posts nothing.
type SlackAPI interface {
	AuthTest(ctx context.Context) (slack.Identity, error)
	Channel(ctx context.Context, channel string) (slack.Channel, error)
}

// Slack checks the bot token: auth.test, the chat:write scope, and that
// the bot can post in the channel (a member, or chat:write.public for a
// public channel).
func Slack(api SlackAPI, channel string) System {
	return System{Name: "slack", Run: func(ctx context.Context, _ *State) []Result {
		id, err := api.AuthTest(ctx)
		if err != nil {
			return []Result{slackFailure("auth.test", err, "the token is invalid or revoked: reinstall the Slack app and store its xoxb- bot token as BG_SLACK_TOKEN")}
		}
		rs := []Result{{Name: "auth.test", Verdict: OK, Detail: fmt.Sprintf("bot %s in %s", id.User, id.Team)}}
		write := Result{Name: "scope chat:write", Verdict: OK, Detail: "granted"}
		if !id.HasScope("chat:write") {
			write.Verdict, write.Detail = Fix, fmt.Sprintf("not granted (scopes: %v)", id.Scopes)
			write.Fix = "add the chat:write bot scope in the Slack app's OAuth & Permissions, reinstall it, and update BG_SLACK_TOKEN"
		}
		return append(rs, write, post(ctx, api, id, channel))
	}}
}

func slackFailure(name string, err error, fix string) Result {
	var se *slack.Error
	if errors.As(err, &se) && !se.Transient && se.Code != "unreachable" && se.Code != "timeout" && se.Code != "error" {
		return Result{Name: name, Verdict: Fix, Detail: err.Error(), Fix: fix}
	}
	return Result{Name: name, Verdict: Down, Detail: err.Error(), Fix: "check that Slack is reachable from the runner (BG_SLACK_API_URL)"}
}

func post(ctx context.Context, api SlackAPI, id slack.Identity, channel string) Result {
	r := Result{Name: "post in " + channel}
	public := id.HasScope("chat:write.public")
	ch, err := api.Channel(ctx, channel)
	switch code := slack.Code(err); {
	case err == nil && ch.Archived:
		r.Verdict, r.Detail, r.Fix = Fix, "the channel is archived", "set BG_SLACK_CHANNEL (slack-channel) to a live channel"
	case err == nil && ch.IsMember:
		r.Verdict, r.Detail = OK, "the bot is a member"
	case err == nil && public && !ch.IsPrivate:
		r.Verdict, r.Detail = OK, "public channel, and the token has chat:write.public"
	case err == nil:
		r.Verdict, r.Detail, r.Fix = Fix, "the bot is not a member", fmt.Sprintf("invite it: /invite @%s in %s (or add chat:write.public for a public channel)", id.User, channel)
	case code == "missing_scope":
		r.Verdict, r.Detail = Warn, "cannot tell: looking the channel up needs channels:read (groups:read for a private one)"
		r.Fix = fmt.Sprintf("make sure @%s is invited to %s, or add channels:read so that doctor can tell", id.User, channel)
	case code == "channel_not_found":
		r.Verdict, r.Detail = Fix, "not found, or private without the bot in it"
		r.Fix = fmt.Sprintf("check BG_SLACK_CHANNEL (slack-channel), and invite the bot: /invite @%s", id.User)
	default:
		return slackFailure(r.Name, err, "check the channel and the token")
	}
	return r
}
