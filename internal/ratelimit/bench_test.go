package ratelimit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fengdu-county/casework/internal/ratelimit"
)

// BenchmarkTake is what the rate limit adds to every call: one take, by one
// caller at a time (sequential) and by many at once on different keys
// (parallel), from each store. docs/performance.md records the figures.
func BenchmarkTake(b *testing.B) {
	for _, name := range []string{"memory", "postgres", "redis"} {
		b.Run(name, func(b *testing.B) {
			s := benchStore(b, name)
			l := ratelimit.Limit{Rate: 1e6, Burst: 1e6}
			ctx := context.Background()
			b.Run("sequential", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					if _, err := s.Take(ctx, fmt.Sprintf("bench-%d", i%100), l, 1, time.Now()); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						i++
						if _, err := s.Take(ctx, fmt.Sprintf("bench-%d", i%100), l, 1, time.Now()); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}
