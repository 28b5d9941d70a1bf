// Package bot is accessbot's Slack edge: a Socket Mode client that acks each
// envelope once it is stored, maps clicks and modal submissions to
// workflow.Engine commands, and an outbox worker that delivers what the
// engine asks Slack to show (task cards posted once and then updated in
// place, reminder digests kept current like cards (digest.go), comments,
// reminders, direct messages) with client-side rate limits and retries.
//
// The bot's work is split by job (docs/ARCHITECTURE.md), each part a type
// of its own: the Slack client (type client, client.go and limits.go)
// through which every Web API call goes, with the directory of people
// beside it (type directory, identity.go and names.go); the delivery
// worker (type delivery, delivery.go, outbox.go, digest.go, mirror.go,
// email.go, redraw.go, homerefresh.go, render.go, insights.go), which
// reads the engine, draws with blocks and owns the outbox loop, the card
// locks and the App Home refresh; and Bot itself, which keeps the socket,
// the inbox and the handlers, reached through one routing table
// (routes.go) and answering every error through explain (answer.go).
// Handlers reach delivery as Bot.out (to wake it after a change, to redraw
// the clicked card, to publish a Home).
//
// The bot imports workflow and nothing from store: it declares the small
// Store it needs (cards, chat users, the outbox, the inbox, leases) and the
// command wires *store.DB into it.
//
// Data flow for a click (inbox.go, loop.go): the event loop hands the
// envelope to the inbox writer, which stores every envelope that arrived
// during its previous commit in one transaction (group commit; a duplicate
// envelope_id or event_id is not stored again and is only acked), then
// acks them and gives the new ones to the worker pool. A worker resolves
// the clicking Slack user to an email and calls the engine with the card's
// task revision and the envelope's workflow.Receipt: the engine transaction
// that records the effect also marks the envelope done, so a replay
// changes nothing twice. A refusal is answered with an ephemeral message
// and the envelope is marked done afterwards. Then the clicker's own card
// is redrawn at once through the click's response_url (chat.update is
// paced), and the engine's outbox row makes the outbox worker bring the
// task's other cards up to date. A view_submission is acked after its
// handler, because its ack carries the field errors; it is stored before
// that like any other. When storage cannot take an envelope the person is
// told in one line that it did not go through (ephemeral, response_url, or
// the ack of a slash command or modal); an event is left unacked so Slack
// sends it again.
//
// Leases: the process has an owner id; envelopes it handles, notices it
// delivers and cards it is posting are leased to it, and a heartbeat
// renews them while it lives (Config.LeaseTTL, four beats a lease).
// recoverLoop finishes, at start-up and then every half lease, the stored
// envelopes that nobody holds (a process that died); the outbox claims
// notices whose lease ran out. A delivery whose lease was lost is not
// recorded, and a new card is claimed (Store.ClaimCard) before it is
// posted, so two replicas never post one card twice. A card's message
// carries its key as message metadata: who takes over the claim of an
// owner that died between Slack's answer and the save finds that message
// (conversations.history) and adopts it rather than posting again.
//
// People are named by Slack mention (names.go): a card looks up the people
// it names before it is drawn, and one that still had to name someone by
// email is drawn again once the bot learns who that is; engine texts
// (refusals, direct messages) get mentions for the people the bot knows.
// Cards of a finished request show what became of its access (revoked,
// expired, extended), read with Engine.GrantOutcome. A 429's Retry-After
// holds back every call of the method (per channel for chat.postMessage)
// until it has passed (limits.go).
//
// The App Home (home.go, homerefresh.go) is published on app_home_opened
// and after each click in it, and refreshed, debounced, when the outbox delivers a change
// to a task of someone whose Home is open. Bulk actions (bulk.go) decide
// each selected task in its own transaction after the modal's ack and show
// the result in the same modal.
package bot
