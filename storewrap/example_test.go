package storewrap_test

import (
	"context"
	"fmt"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
	"github.com/hotread/hotread/storewrap"
)

// providerColumns are the columns of chat_providers, in the order of the
// generated query.
var providerColumns = []string{"id", "provider", "display_name", "api_key", "enabled", "created_at", "updated_at"}

// ExampleNew wraps the generated Querier, reads the enabled providers twice
// and shows that only the first read reached the database. go-sqlmock
// stands in for PostgreSQL so that the example runs anywhere; with a real
// database, db comes from sql.Open("postgres", dsn).
func ExampleNew() {
	db, mock, err := sqlmock.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	mock.ExpectQuery("GetEnabledChatProviders").WillReturnRows(
		sqlmock.NewRows(providerColumns).
			AddRow(uuid.NewString(), "openai", "OpenAI", "sk-example", true, time.Now(), time.Now()))

	q, err := storewrap.New(chatdb.New(db), storewrap.Options{DB: db})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer q.Close()

	// A service keeps using the chatdb.Querier interface.
	var querier chatdb.Querier = q
	ctx := context.Background()
	for range 2 {
		providers, err := querier.GetEnabledChatProviders(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(providers[0].DisplayName)
	}
	fmt.Println("database calls:", q.Stats().Providers.Fills)
	if err := mock.ExpectationsWereMet(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// OpenAI
	// OpenAI
	// database calls: 1
}

// ExampleQuerier_InTx changes a provider inside a transaction. Reads
// through the transaction's Querier skip the cache, the notification for
// other replicas is sent in the transaction, and the local cache drops the
// providers only once the transaction has committed.
func ExampleQuerier_InTx() {
	db, mock, err := sqlmock.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	id := uuid.New()
	now := time.Now()
	row := func(displayName string) *sqlmock.Rows {
		return sqlmock.NewRows(providerColumns).AddRow(id.String(), "openai", displayName, "sk", true, now, now)
	}
	mock.ExpectQuery("GetEnabledChatProviders").WillReturnRows(row("OpenAI"))
	mock.ExpectBegin()
	mock.ExpectQuery("UpdateChatProvider").WillReturnRows(row("OpenAI (EU)"))
	mock.ExpectExec("NotifyInvalidation").
		WithArgs("hotread_invalidate", "v1:provider:"+id.String()).
		WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectCommit()
	mock.ExpectQuery("GetEnabledChatProviders").WillReturnRows(row("OpenAI (EU)"))

	q, err := storewrap.New(chatdb.New(db), storewrap.Options{DB: db})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer q.Close()
	ctx := context.Background()
	printProviders := func(when string) {
		providers, err := q.GetEnabledChatProviders(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %s\n", when, providers[0].DisplayName)
	}

	printProviders("before")
	err = q.InTx(ctx, nil, func(tq *storewrap.Querier) error {
		_, err := tq.UpdateChatProvider(ctx, chatdb.UpdateChatProviderParams{
			ID: id, DisplayName: "OpenAI (EU)", APIKey: "sk", Enabled: true,
		})
		if err != nil {
			return err
		}
		printProviders("during") // outside the transaction: still cached
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	printProviders("after")
	fmt.Println("database calls:", q.Stats().Providers.Fills)
	if err := mock.ExpectationsWereMet(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// before: OpenAI
	// during: OpenAI
	// after: OpenAI (EU)
	// database calls: 2
}
