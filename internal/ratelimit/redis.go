package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps buckets and streaks in Redis, each operation one Lua script
// that Redis runs atomically, so concurrent takes from every replica are
// applied one at a time. Keys expire by themselves once their bucket is full
// again or their streak idle, so nothing needs sweeping.
//
// Lua's numbers are doubles, exact to 2^53: times are kept in microseconds
// since the epoch (about 2^51 today), not nanoseconds.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

// NewRedis returns a store on client whose keys all start with prefix (e.g.
// "casework:limits:"), so one Redis may serve other things too.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// DialRedis connects to the Redis at url (redis://[user:password@]host:port/db
// or rediss:// for TLS) and checks that it answers.
func DialRedis(ctx context.Context, url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		// The URL may hold a password: say what is wrong, not what was given.
		return nil, errors.New("redis url: not a redis:// or rediss:// URL")
	}
	c := redis.NewClient(opts)
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	return c, nil
}

// takeScript: KEYS[1] the bucket; ARGV now, inc, tau in microseconds.
// Answers 0 when admitted, else the wait in microseconds.
var takeScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local nxt = math.max(tat, now) + tonumber(ARGV[2])
local allow = nxt - tonumber(ARGV[3])
if allow > now then
  return allow - now
end
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1)
return 0
`)

// missScript: KEYS[1] the streak; ARGV now, idle (microseconds). Answers
// the misses in the streak, this one included.
var missScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local idle = tonumber(ARGV[2])
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
local misses
if now - last > idle then
  redis.call('HSET', KEYS[1], 'misses', 1, 'until', 0)
  misses = 1
else
  misses = redis.call('HINCRBY', KEYS[1], 'misses', 1)
end
redis.call('HSET', KEYS[1], 'last', string.format('%d', math.max(last, now)))
redis.call('PEXPIRE', KEYS[1], math.ceil(idle / 1000) + 1)
return misses
`)

// barScript: KEYS[1] the streak; ARGV until (microseconds), moved only later.
var barScript = redis.NewScript(`
local barred = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
redis.call('HSET', KEYS[1], 'until', string.format('%d', math.max(barred, tonumber(ARGV[1]))))
return 0
`)

// Take takes n tokens from key's bucket in one script.
func (r *Redis) Take(ctx context.Context, key string, l Limit, n int, now time.Time) (time.Duration, error) {
	if d, done := checkTake(l, n); done {
		return d, nil
	}
	g := newGCRA(l, n)
	wait, err := takeScript.Run(ctx, r.client, []string{r.prefix + "b:" + key},
		now.UnixMicro(), max(1, g.inc/1000), g.tau/1000).Int64()
	if err != nil {
		return 0, err
	}
	return time.Duration(wait) * time.Microsecond, nil
}

// Blocked is how long key is still barred by its streak of misses.
func (r *Redis) Blocked(ctx context.Context, key string, now time.Time) (time.Duration, error) {
	until, err := r.client.HGet(ctx, r.prefix+"s:"+key, "until").Int64()
	switch {
	case errors.Is(err, redis.Nil):
		return 0, nil
	case err != nil:
		return 0, err
	}
	return max(0, time.Duration(until-now.UnixMicro())*time.Microsecond), nil
}

// Miss adds a miss to key's streak and, when penalty says so, bars it; the
// bar only moves later, so misses from two replicas leave the longer one.
func (r *Redis) Miss(ctx context.Context, key string, now time.Time, penalty func(int) time.Duration) (int, error) {
	k := r.prefix + "s:" + key
	misses, err := missScript.Run(ctx, r.client, []string{k}, now.UnixMicro(), StreakIdle.Microseconds()).Int()
	if err != nil {
		return 0, err
	}
	if p := penalty(misses); p > 0 {
		if err := barScript.Run(ctx, r.client, []string{k}, now.Add(p).UnixMicro()).Err(); err != nil {
			return misses, err
		}
	}
	return misses, nil
}

// Reset ends key's streak.
func (r *Redis) Reset(ctx context.Context, key string) error {
	return r.client.Del(ctx, r.prefix+"s:"+key).Err()
}
