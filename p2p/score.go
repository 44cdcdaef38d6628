package p2p

import (
	"math"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Peer scoring. A peer earns a little by being in the mesh and by delivering messages first (at most
// +21 in all), and loses 100 times the square of its decaying count of invalid messages (the count
// fades to 1% in an hour). One invalid message takes any peer below the gossip and publish thresholds,
// so that nothing is gossiped or published to it; two put it on the graylist, so that everything it
// sends is ignored. Honest nodes validate before they forward, so only a faulty or malicious peer sends
// invalid messages. Mesh delivery rates (P3) are not scored: metadata is sparse, and a quiet peer is not
// a faulty one. IP colocation is not scored either: consortium nodes may share networks, and tests run
// on loopback.
const (
	invalidMessageWeight = -100
	gossipThreshold      = -10
	publishThreshold     = -50
	graylistThreshold    = -80
	// syncPenalty is what one invalid catch-up answer costs (application-specific score).
	syncPenalty = 100
	// syncPenaltyHalfLife is how fast that cost fades.
	syncPenaltyHalfLife = 30 * time.Second
)

func scoreParams(topic string, app func(peer.ID) float64) (*pubsub.PeerScoreParams, *pubsub.PeerScoreThresholds) {
	params := &pubsub.PeerScoreParams{
		Topics: map[string]*pubsub.TopicScoreParams{topic: {
			TopicWeight:                    1,
			TimeInMeshWeight:               0.01,
			TimeInMeshQuantum:              time.Second,
			TimeInMeshCap:                  100,
			FirstMessageDeliveriesWeight:   1,
			FirstMessageDeliveriesDecay:    pubsub.ScoreParameterDecay(10 * time.Minute),
			FirstMessageDeliveriesCap:      20,
			InvalidMessageDeliveriesWeight: invalidMessageWeight,
			InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(time.Hour),
		}},
		TopicScoreCap:             50,
		AppSpecificScore:          app,
		AppSpecificWeight:         1,
		BehaviourPenaltyWeight:    -10,
		BehaviourPenaltyThreshold: 6,
		BehaviourPenaltyDecay:     pubsub.ScoreParameterDecay(10 * time.Minute),
		DecayInterval:             time.Second,
		DecayToZero:               0.01,
		RetainScore:               time.Hour,
	}
	thresholds := &pubsub.PeerScoreThresholds{
		GossipThreshold:             gossipThreshold,
		PublishThreshold:            publishThreshold,
		GraylistThreshold:           graylistThreshold,
		AcceptPXThreshold:           10,
		OpportunisticGraftThreshold: 5,
	}
	return params, thresholds
}

// penalties is the application-specific part of peer scores: the cost of invalid catch-up answers,
// which gossipsub does not see, fading with a half-life.
type penalties struct {
	mu sync.Mutex
	m  map[peer.ID]penalty
}

type penalty struct {
	value float64
	at    time.Time
}

func (p *penalties) add(id peer.ID, v float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[peer.ID]penalty{}
	}
	now := time.Now()
	p.m[id] = penalty{value: p.current(id, now) + v, at: now}
}

// score is the AppSpecificScore function: minus the current penalty.
func (p *penalties) score(id peer.ID) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	v := p.current(id, now)
	if v < 1 {
		delete(p.m, id)
		return 0
	}
	return -v
}

func (p *penalties) current(id peer.ID, now time.Time) float64 {
	e, ok := p.m[id]
	if !ok {
		return 0
	}
	return e.value * math.Exp2(-now.Sub(e.at).Seconds()/syncPenaltyHalfLife.Seconds())
}
