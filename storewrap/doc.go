// Package storewrap caches the hot reads of a sqlc-generated
// [chatdb.Querier] and keeps them coherent with the database, on this
// replica and on the others.
//
// [New] wraps the Querier that a service already injects and returns a
// [*Querier] that implements the same interface:
//
//	q, err := storewrap.New(chatdb.New(db), storewrap.Options{DB: db})
//	if err != nil {
//		return err
//	}
//	defer q.Close()
//
// Four reads are cached, each with its own TTL, bound and switches in
// [Options]: GetEnabledChatProviders, GetChatModelConfigByID,
// GetDefaultChatModelConfig and GetUserChatCustomPrompt. A cached read
// returns what the wrapped Querier would return, the same values and the
// same errors, so errors.Is(err, sql.ErrNoRows) holds on a cached "not
// found". Slices and JSON options are copied, so callers own what they get.
//
// A mutation of a cached table is forwarded, and once it has succeeded it
// invalidates the reads it made stale and publishes the invalidation with
// pg_notify on [Options.Channel], for the other replicas. With
// [Options.DB] set, the mutation and its notification commit together in
// one short transaction. [Querier.InTx] and [Querier.Begin] run a
// transaction whose hot reads skip the caches and whose invalidations apply
// only after the commit; a rollback applies none. [Querier.Invalidate]
// applies an invalidation received from elsewhere.
//
// # Other replicas
//
// With [ListenerOptions.DSN] set, New also starts a listener on its own
// connection (lib/pq's Listener) that applies the invalidations published
// by every replica, this one included. PostgreSQL delivers a notification
// sent inside a transaction only when the transaction commits, so a
// replica drops an entry no earlier than the commit of the change, and
// usually within milliseconds of it. Notifications may be lost while the
// listener reconnects, so each reconnect drops every cached entry; a
// payload that does not parse does the same and is logged. While the
// listener is down, the TTL bounds how stale a read can be, unless
// [ListenerOptions.BypassCacheWhileDisconnected] sends hot reads to the
// database until it is back. Changes made outside the decorator (psql, a
// migration, another service) publish the same payloads once the triggers
// in hotread.Triggers are installed; set [Options.DisablePublish] then.
//
// # Staleness bound
//
// A change made through a Querier is seen by the next read on the same
// replica as soon as the mutation returns, or in a transaction as soon as
// the commit returns. Other replicas see it once their listener applies
// the notification, which PostgreSQL sends at the commit. Without a
// listener, or while it is down, every cached value was read from the
// database at most one TTL ago, plus [QueryOptions.StaleWhileRefresh] when
// a refresh window is set, so that is the bound of last resort.
//
// # Every method is classified
//
// *Querier implements each method of chatdb.Querier explicitly and embeds
// no Querier, so a query added to queries.sql, which adds a method to the
// generated interface, makes the assertion
//
//	var _ chatdb.Querier = (*Querier)(nil)
//
// fail to compile until the method is written here. One table, rules in
// classify.go, then classifies every method as a cached read, a mutation
// with the invalidations it causes, or a pass-through that neither reads a
// cached result nor writes a cached table. A test enumerates the methods of
// chatdb.Querier by reflection and fails when one has no rule, so every
// new query needs an explicit decision, and another test checks that each
// pass-through forwards its arguments and results unchanged.
//
// All methods of a Querier are safe for concurrent use by multiple
// goroutines, except that one bound to a transaction is as safe as the
// *sql.Tx under it.
package storewrap
