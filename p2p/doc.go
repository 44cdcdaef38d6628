// Package p2p carries document metadata between Siegel nodes over libp2p, so that every node can answer
// for every document without the metadata going through consensus.
//
// A Node is a libp2p host with gossipsub on the topic "/siegel/<chain ID>/meta/1" and a request/response
// protocol "/siegel/<chain ID>/meta-sync/1" for catching up. A metadata message (package app/tx,
// Metadata) is accepted only if it decodes strictly, is for this chain, carries a good signature by a
// key that may sign for the agency that anchored the document, and its digest equals the MetaDigest
// that the anchor committed to on chain. Validation runs inside gossipsub's validator: an invalid
// message is not forwarded and costs its sender peer score; a valid one is stored before it is
// forwarded. A message whose anchor is not committed here yet waits, a bounded time in a bounded queue,
// for the commit, if a current key of the agency it names signed it. What only today's governance
// refuses (a key retired since, a document type no longer allowed) is refused on Publish but ignored,
// without penalty, from peers; so are copies of messages stored here long ago (replays), unless one
// peer sends more than a few a minute. A node that lacks metadata for anchors it knows (it was down, it joined late, its
// store was wiped) fetches it from its peers, and validates the answers the same way.
//
// What it leaves to others: reading the chain and storing the metadata (the Chain and MetaStore
// interfaces, implemented by the node's wiring over the real store), telling it about commits
// (NotifyCommitted), exporting metrics (Metrics), reading keys and configuration from files (cmd), and
// deciding who may read restricted metadata (the API): every node stores public and restricted metadata
// alike, so a consortium that gossips restricted metadata sets Config.AllowedPeers.
package p2p
