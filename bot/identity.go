package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"accessbot/workflow"
)

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
func (b *Bot) emailOf(ctx context.Context, slackID string) (string, error) {
	return b.identify(ctx, slackID, identityStale)
}

// actorEmail is emailOf for someone about to change a task (a decision, a
// reassignment, an admin operation): when Slack cannot confirm an identity
// older than identityTTL, it refuses rather than trust the old one.
func (b *Bot) actorEmail(ctx context.Context, slackID string) (string, error) {
	return b.identify(ctx, slackID, 0)
}

// identify is emailOf with the age up to which a cached identity stands in
// for a failed users.info (0: none past identityTTL).
func (b *Bot) identify(ctx context.Context, slackID string, stale time.Duration) (string, error) {
	cached, err := b.store.ChatUserByID(ctx, slackID)
	switch {
	case err == nil && cached.Email != "" && b.now().Sub(cached.ResolvedAt) < identityTTL:
		return cached.Email, nil
	case err != nil && workflow.ErrorCode(err) != workflow.ENOTFOUND:
		return "", err
	}
	info, err := b.slack.UserInfo(ctx, slackID)
	if err != nil {
		if cached != nil && cached.Email != "" && b.now().Sub(cached.ResolvedAt) < stale {
			return cached.Email, nil // stale but Slack is unreachable, and only for reading
		}
		if cached != nil && cached.Email != "" {
			b.logger(ctx).Warn().Err(err).Str("chat_user", slackID).Msg("identity not confirmed by Slack; refused")
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
	if err := b.store.SaveChatUser(ctx, chatUser(email, info, b.now())); err != nil {
		b.logger(ctx).Warn().Err(err).Str("chat_user", slackID).Msg("cache chat user")
	} else {
		b.identityLearned(ctx, email)
	}
	return email, nil
}

// slackIDOf maps an email to its Slack user id: the cache, else
// users.lookupByEmail, cached. errNotInSlack when Slack has nobody with it.
func (b *Bot) slackIDOf(ctx context.Context, email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if u, err := b.store.ChatUserByEmail(ctx, email); err == nil && u.ChatID != "" && b.now().Sub(u.ResolvedAt) < identityTTL {
		if u.Deleted {
			return "", fmt.Errorf("%s: %w (the account is deactivated)", email, errNotInSlack)
		}
		return u.ChatID, nil
	} else if err != nil && workflow.ErrorCode(err) != workflow.ENOTFOUND {
		return "", err
	}
	info, err := b.slack.UserByEmail(ctx, email)
	if code := slackCode(err); code == "users_not_found" || code == "user_not_found" {
		return "", fmt.Errorf("%s: %w", email, errNotInSlack)
	}
	if err != nil {
		return "", fmt.Errorf("users.lookupByEmail %s: %w", email, err)
	}
	if err := b.store.SaveChatUser(ctx, chatUser(email, info, b.now())); err != nil {
		b.logger(ctx).Warn().Err(err).Str("email", email).Msg("cache chat user")
	} else {
		b.identityLearned(ctx, email)
	}
	if info.Deleted {
		return "", fmt.Errorf("%s: %w (the account is deactivated)", email, errNotInSlack)
	}
	return info.ID, nil
}

// cachedSlackID returns the cached Slack id of email, or "" (no API call):
// for mentions on cards.
func (b *Bot) cachedSlackID(ctx context.Context, email string) string {
	if u, err := b.store.ChatUserByEmail(ctx, email); err == nil {
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
