// Package fakeslack is an in-process Slack workspace: a Web API, a Socket
// Mode WebSocket endpoint and response URLs on one 127.0.0.1 HTTP server,
// plus a Go API to act as the people in the workspace. Tests run the bot
// against it, and so does `accessbot sandbox` (package sandbox), whose web
// page plays its people: it is product code, held to the same bar.
//
// Point slack-go at it:
//
//	srv, _ := fakeslack.New(fakeslack.Options{})
//	defer srv.Close()
//	api := slack.New(srv.BotToken(),
//		slack.OptionAppLevelToken(srv.AppToken()),
//		slack.OptionAPIURL(srv.APIURL())) // ends in "/"
//	client := socketmode.New(api)
//	go client.RunContext(ctx)
//	srv.WaitConnected(ctx, 1)
//
// Then drive the bot as a person and assert on what Slack would show:
//
//	alice := srv.AddUser(fakeslack.User{ID: "U1", Name: "alice", Email: "alice@example.com"})
//	d, err := srv.Command(ctx, alice.ID, srv.DMChannel(alice.ID), "/access", "request github 8h")
//	srv.WaitFor(ctx, func() bool { return len(srv.DMs(alice.ID)) > 0 })
//	msg := srv.DMs(alice.ID)[0]
//	srv.Click(ctx, "U2", msg.Channel, msg.TS, "Approve") // by action_id or button text
//
// # Web API
//
// Methods: auth.test, apps.connections.open, users.lookupByEmail, users.info,
// conversations.open, conversations.replies, conversations.history (with
// include_all_metadata, the metadata chat.postMessage stored), chat.postMessage, chat.update,
// chat.postEphemeral, chat.delete, chat.getPermalink, reactions.add, views.open,
// views.push, views.update, views.publish. Anything else answers unknown_method.
// Form and JSON bodies are both accepted; the token comes from the Authorization
// header or the "token" argument. apps.connections.open wants the app token,
// everything else the bot token (the other one gets not_allowed_token_type).
//
// Errors follow Slack: channel_not_found (channels exist once AddChannel'd or
// once a DM is opened; a user id as channel means their DM), not_in_channel,
// message_not_found, cant_update_message, users_not_found, user_not_found,
// user_disabled, invalid_blocks / invalid_blocks_format (messages) and
// invalid_arguments (views) with response_metadata.messages, msg_too_long
// (text over 40,000 characters; Slack would truncate, failing is more useful in a
// test), no_text, invalid_trigger_id / exchanged_trigger_id / expired_trigger_id,
// hash_conflict, push_limit_reached, duplicate_external_id. Soft problems
// (text over 4,000 characters, blocks without fallback text) go to Warnings.
//
// Block Kit is validated on generic JSON against Slack's documented limits (see
// blocklimits.go), independent of slack-go's types. Like Slack, missing block_id
// and action_id values are filled in when stored.
//
// # Failures and rate limits
//
// FailNext queues failures per method (HTTP status, timeout, delay, ok:false,
// 429 with Retry-After); SetDown makes every call answer 503; SetAuthError forces
// an auth error. Rate limits (DefaultLimits, Slack's tiers) are off unless
// Options.RateLimits or EnableRateLimits; SetLimit overrides one method and
// MinDuration says how long a number of calls must take at least. Count and
// Calls report every call and its result.
//
// # Socket Mode
//
// The URL from apps.connections.open works once. On connect the server sends
// hello, then pings every Options.PingInterval. Push sends an envelope to one
// connection (round-robin) and WaitAck returns the bot's ack with its payload and
// latency; Redeliver resends with retry_attempt+1; PushRaw sends anything;
// Disconnect sends a disconnect message and closes, DropConnections just closes.
//
// # Acting as a person
//
// Click, Select (messages), ClickInView, SelectInView, SetInput, Submit,
// CloseView, Suggest (views), Command, PostAsUser, EditMessage, DeleteMessage
// and OpenHome build the payloads Slack sends, push them and wait for the ack
// (at most Options.AckTimeout). Interactions mint a trigger_id (valid
// Options.TriggerTTL, once) and, for messages and commands, a response_url whose
// posts become messages. Submit applies the ack's response_action to the user's
// modal stack. Acks Slack would reject return ErrBadAck; interactive and command
// acks later than Options.AckDeadline (3 s) return ErrLateAck and their payload
// is ignored, as Slack has already shown the person an error. Acks of 20 KB or
// more are dropped with a warning.
//
// # What a client shows
//
// Users and Channels list the members and channels a client's sidebar and
// pickers show; chat.postMessage also takes a channel's "#name". Like
// Slack's client, Command and PostAsUser refuse text over MaxMessageText
// (ErrTooLong) and, when Options.Commands is set, a slash command the app
// did not register (ErrUnknownCommand); nothing reaches the app then. A
// modal that is not open on top answers ErrViewClosed. Options.Now stamps
// messages with another clock (the sandbox's); triggers keep the wall clock.
//
// The package embeds time/tzdata so users' tz_offset does not depend on the host.
//
// Every accessor returns copies and is safe to call while the bot runs; WaitFor
// and Changed let tests wait for state instead of sleeping.
package fakeslack
