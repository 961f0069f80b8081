package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// roost bench search: fills a mailbox over IMAP with a generated corpus
// (English, German and Chinese text, HTML and plain) and times SEARCH
// TEXT "word" and SEARCH BODY "two words" on it, against any IMAP server
// (scripts/bench-search.sh runs it against Roost and Dovecot with
// fts-xapian).

var benchEnglish = strings.Fields(`account agenda approval budget calendar client contract deadline delivery
design document draft estimate feedback forecast holiday invoice launch ledger meeting milestone network office
payment planning policy product project proposal purchase quarter release report request review revenue
roadmap salary schedule security server shipment signature sprint strategy summary supplier support survey
team ticket training travel update vendor version warehouse website workshop analysis answer balance board
branch capital channel committee company customer department director employee equipment factory finance
growth income industry insurance interview inventory manager market material member message method minute
number operation option order package partner performance period position price process profit program
quality question record region research resource result sales sample section service share staff standard
statement status stock system target task technology term test total trade transfer unit value volume`)

var benchGerman = strings.Fields(`Abteilung Angebot Anfrage Auftrag Ausschreibung Bestellung Besprechung Bericht
Büro Entwurf Ergebnis Frühstück Gebäude Genehmigung Geschäftsführung Grüße Häuser Kunde Lieferung Mitarbeiter
Müller Planung Prüfung Rechnung Schlüssel Straße Termin Übersicht Umsatz Unterlagen Verkauf Vertrag Wartung
Zahlung Zeitplan Zuständigkeit Anlage Antwort Aufgabe Ausgabe Beitrag Betrieb Einkauf Entscheidung Erfahrung`)

var benchChinese = strings.Fields(`东京 大阪 会议 资料 预算 报告 合同 北京 上海 销售 市场 项目 计划 客户 公司 产品 管理 系统 服务 技术`)

// benchSearchMessage is corpus message i: the same bytes for every run.
func benchSearchMessage(i int) string {
	r := rand.New(rand.NewPCG(uint64(i), 0x5eed))
	vocab, sep := benchEnglish, " "
	switch i % 5 {
	case 3:
		vocab = benchGerman
	case 4:
		vocab, sep = benchChinese, ""
	}
	words := func(n int) string {
		w := make([]string, n)
		for j := range w {
			w[j] = vocab[r.IntN(len(vocab))]
		}
		return strings.Join(w, sep)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: Sender %d <sender%d@example.org>\r\nTo: Bench <bench@bench.test>\r\nSubject: %s\r\n"+
		"Date: Mon, 2 Mar 2026 10:%02d:00 +0000\r\nMessage-ID: <%d@corpus.bench>\r\nMIME-Version: 1.0\r\n",
		i%500, i%500, words(4), i%60, i)
	var body strings.Builder
	for p := range 2 + r.IntN(6) {
		if p > 0 {
			body.WriteString("\r\n\r\n")
		}
		line := words(8 + r.IntN(12))
		for len(line) > 76 && sep == " " {
			cut := strings.LastIndexByte(line[:76], ' ')
			if cut <= 0 {
				break
			}
			body.WriteString(line[:cut] + "\r\n")
			line = line[cut+1:]
		}
		body.WriteString(line)
	}
	if i%10 == 7 {
		fmt.Fprintf(&b, "Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>%s</p></body></html>\r\n",
			strings.ReplaceAll(body.String(), "\r\n\r\n", "</p><p>"))
	} else {
		fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", body.String())
	}
	return b.String()
}

// benchFillMaildir writes corpus messages from…from+n-1 into dir's cur/
// as Maildir files (seen by the server at its next sync): a fast way to
// give a server a large corpus when its APPEND rate is not what is
// measured.
func benchFillMaildir(dir string, from, n int) error {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return fmt.Errorf("maildir: %w", err)
		}
	}
	base := time.Now().Unix()
	for i := from; i < from+n; i++ {
		m := benchSearchMessage(i)
		name := fmt.Sprintf("%d.M%dP1Q%d.bench,S=%d:2,", base, i, i, len(m))
		if err := os.WriteFile(filepath.Join(dir, "cur", name), []byte(m), 0o600); err != nil {
			return fmt.Errorf("maildir: %w", err)
		}
	}
	return nil
}

func runBenchSearch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("roost bench search", flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := fl.String("addr", "127.0.0.1:1143", "IMAP server (plain, or STARTTLS with --starttls)")
	startTLS := fl.Bool("starttls", false, "start TLS before logging in")
	user := fl.String("user", "bench", "login")
	password := fl.String("password", "bench", "password")
	appendN := fl.Int("append", 0, "append corpus messages 0…N-1 to INBOX first")
	from := fl.Int("from", 0, "first corpus message to append")
	clients := fl.Int("clients", 4, "connections appending at once")
	queries := fl.Int("queries", 0, "SEARCH commands of each kind to time")
	maildir := fl.String("maildir", "", "with --append: write the messages as files into this Maildir's cur/ instead of appending over IMAP")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *maildir != "" {
		if err := benchFillMaildir(*maildir, *from, *appendN); err != nil {
			fmt.Fprintf(stderr, "roost bench search: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %d messages into %s\n", *appendN, *maildir)
		return 0
	}
	cfg := benchConfig{addr: *addr, startTLS: *startTLS, password: *password}
	login := func() (*iconn, error) {
		c, err := benchDial(cfg)
		if err != nil {
			return nil, err
		}
		if _, err := c.cmd("LOGIN %s %s", quoteIMAP(*user), quoteIMAP(*password)); err != nil {
			c.c.Close()
			return nil, fmt.Errorf("login: %w", err)
		}
		return c, nil
	}
	if *appendN > 0 {
		var next atomic.Int64
		next.Store(int64(*from))
		var bytes atomic.Int64
		var firstErr error
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := time.Now()
		for range *clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := login()
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				defer c.c.Close()
				for ctx.Err() == nil {
					i := int(next.Add(1) - 1)
					if i >= *from+*appendN {
						return
					}
					m := benchSearchMessage(i)
					if _, err := c.appendLiteral("INBOX", m); err != nil {
						mu.Lock()
						firstErr = fmt.Errorf("append %d: %w", i, err)
						mu.Unlock()
						return
					}
					bytes.Add(int64(len(m)))
				}
			}()
		}
		wg.Wait()
		if firstErr != nil {
			fmt.Fprintf(stderr, "roost bench search: %v\n", firstErr)
			return 1
		}
		el := time.Since(start)
		fmt.Fprintf(stdout, "appended %d messages (%d bytes) in %s: %.0f messages/s\n", *appendN, bytes.Load(), el.Round(time.Millisecond),
			float64(*appendN)/el.Seconds())
	}
	if *queries <= 0 {
		return 0
	}
	c, err := login()
	if err != nil {
		fmt.Fprintf(stderr, "roost bench search: %v\n", err)
		return 1
	}
	defer c.c.Close()
	if _, err := c.cmd("SELECT INBOX"); err != nil {
		fmt.Fprintf(stderr, "roost bench search: select: %v\n", err)
		return 1
	}
	r := rand.New(rand.NewPCG(1, 2))
	kinds := []struct {
		name string
		cmd  func() string
	}{
		{`SEARCH TEXT "word"`, func() string { return "SEARCH TEXT " + quoteIMAP(benchEnglish[r.IntN(len(benchEnglish))]) }},
		{`SEARCH BODY "two words"`, func() string {
			return "SEARCH BODY " + quoteIMAP(benchEnglish[r.IntN(len(benchEnglish))]+" "+benchEnglish[r.IntN(len(benchEnglish))])
		}},
	}
	for _, k := range kinds {
		var lat []time.Duration
		hits := 0
		for range *queries {
			q := k.cmd()
			t0 := time.Now()
			lines, err := c.cmd("%s", q)
			if err != nil {
				fmt.Fprintf(stderr, "roost bench search: %s: %v\n", q, err)
				return 1
			}
			lat = append(lat, time.Since(t0))
			for _, l := range lines {
				if strings.HasPrefix(l, "* SEARCH") {
					hits += len(strings.Fields(l)) - 2
				}
			}
		}
		slices.Sort(lat)
		fmt.Fprintf(stdout, "%-26s n=%d p50=%s p99=%s mean hits=%.0f\n", k.name, len(lat), pct(lat, 50), pct(lat, 99), float64(hits)/float64(len(lat)))
	}
	c.cmd("LOGOUT")
	return 0
}
