package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// directory maps Slack users to the emails the engine knows them by and
// back: a cache in the bot's Store (chat users) in front of users.info and
// users.lookupByEmail, and the mentions that name people on cards
// (names.go).
type directory struct {
	store Store
	slack *client
	now   func() time.Time
	log   *zerolog.Logger // when ctx carries none
	// redraw draws the cards of tasks again once someone they named by
	// email is known (the engine's RefreshCards, and a nudge to delivery).
	redraw  func(ctx context.Context, taskIDs []int64) error
	unnamed unnamedCards // cards that named someone by email
}

func (p *directory) logger(ctx context.Context) *zerolog.Logger { return ctxLogger(ctx, p.log) }

// identityTTL is how long a cached Slack identity is trusted before it is
// looked up again (emails and accounts change hands).
const identityTTL = 24 * time.Hour

// identityStale bounds how old a cached identity may be when users.info
// fails and a read (a Home, a Details modal) falls back to it. A decision
// never does: actorEmail fails closed once identityTTL has passed.
const identityStale = 72 * time.Hour

// errNotInSlack is returned when an email has no Slack account.
var errNotInSlack = errors.New("not found in Slack")

// emailOf maps a clicking Slack user to the email the engine knows them by:
// the cached chat user, else users.info (profile.email), cached. A Slack
// user whose email is not an assignee's is not that assignee.
func (p *directory) emailOf(ctx context.Context, slackID string) (string, error) {
	return p.identify(ctx, slackID, identityStale)
}

// actorEmail is emailOf for someone about to change a task (a decision, a
// reassignment, an admin operation): when Slack cannot confirm an identity
// older than identityTTL, it refuses rather than trust the old one.
func (p *directory) actorEmail(ctx context.Context, slackID string) (string, error) {
	return p.identify(ctx, slackID, 0)
}

// identify is emailOf with the age up to which a cached identity stands in
// for a failed users.info (0: none past identityTTL).
func (p *directory) identify(ctx context.Context, slackID string, stale time.Duration) (string, error) {
	cached, err := p.store.ChatUserByID(ctx, slackID)
	switch {
	case err == nil && cached.Email != "" && p.now().Sub(cached.ResolvedAt) < identityTTL:
		return cached.Email, nil
	case err != nil && workflow.ErrorCode(err) != workflow.ENOTFOUND:
		return "", err
	}
	info, err := p.slack.UserInfo(ctx, slackID)
	if err != nil {
		if cached != nil && cached.Email != "" && p.now().Sub(cached.ResolvedAt) < stale {
			return cached.Email, nil // stale but Slack is unreachable, and only for reading
		}
		if cached != nil && cached.Email != "" {
			p.logger(ctx).Warn().Err(err).Str("chat_user", slackID).Msg("identity not confirmed by Slack; refused")
			return "", workflow.Errorf(workflow.ECONFLICT, "accessbot cannot confirm who you are with Slack right now, so nothing was changed. Please try again in a few minutes.")
		}
		return "", fmt.Errorf("users.info %s: %w", slackID, err)
	}
	if info.Deleted {
		return "", workflow.Errorf(workflow.EFORBIDDEN, "This Slack account is deactivated, so accessbot does not act for it.")
	}
	email := strings.ToLower(strings.TrimSpace(info.Profile.Email))
	if email == "" {
		return "", workflow.Errorf(workflow.EFORBIDDEN, "accessbot cannot see your email address in Slack, so it cannot tell who you are. Ask an admin to give the app the users:read.email scope.")
	}
	if err := p.store.SaveChatUser(ctx, chatUser(email, info, p.now())); err != nil {
		p.logger(ctx).Warn().Err(err).Str("chat_user", slackID).Msg("cache chat user")
	} else {
		p.identityLearned(ctx, email)
	}
	return email, nil
}

// slackIDOf maps an email to its Slack user id: the cache, else
// users.lookupByEmail, cached. errNotInSlack when Slack has nobody with it.
func (p *directory) slackIDOf(ctx context.Context, email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if u, err := p.store.ChatUserByEmail(ctx, email); err == nil && u.ChatID != "" && p.now().Sub(u.ResolvedAt) < identityTTL {
		if u.Deleted {
			return "", fmt.Errorf("%s: %w (the account is deactivated)", email, errNotInSlack)
		}
		return u.ChatID, nil
	} else if err != nil && workflow.ErrorCode(err) != workflow.ENOTFOUND {
		return "", err
	}
	info, err := p.slack.UserByEmail(ctx, email)
	if code := slackCode(err); code == "users_not_found" || code == "user_not_found" {
		return "", fmt.Errorf("%s: %w", email, errNotInSlack)
	}
	if err != nil {
		return "", fmt.Errorf("users.lookupByEmail %s: %w", email, err)
	}
	if err := p.store.SaveChatUser(ctx, chatUser(email, info, p.now())); err != nil {
		p.logger(ctx).Warn().Err(err).Str("email", email).Msg("cache chat user")
	} else {
		p.identityLearned(ctx, email)
	}
	if info.Deleted {
		return "", fmt.Errorf("%s: %w (the account is deactivated)", email, errNotInSlack)
	}
	return info.ID, nil
}

// cachedSlackID returns the cached Slack id of email, or "" (no API call):
// for mentions on cards.
func (p *directory) cachedSlackID(ctx context.Context, email string) string {
	if u, err := p.store.ChatUserByEmail(ctx, email); err == nil {
		return u.ChatID
	}
	return ""
}

func chatUser(email string, u *slack.User, now time.Time) *workflow.ChatUser {
	return &workflow.ChatUser{
		Email: email, ChatID: u.ID, Name: u.Name, TZ: u.TZ,
		IsBot: u.IsBot, Deleted: u.Deleted, ResolvedAt: now,
	}
}
