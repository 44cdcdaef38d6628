//go:build js && wasm

// Command wasm is the receipt verifier for web pages: receipt.Check compiled to WebAssembly. It
// defines one global function,
//
//	siegelCheckReceipt(receiptJSON string, genesisJSON string) string
//
// which returns receipt.Summary as JSON. Build it with
//
//	GOOS=js GOARCH=wasm go build -trimpath -ldflags=-s -o verify.wasm ./receipt/wasm
//
// and load it with the wasm_exec.js of the same Go release. `make web` does both for the node's page.
package main

import (
	"encoding/json"
	"syscall/js"

	"github.com/siegel-notary/siegel/receipt"
)

func main() {
	js.Global().Set("siegelCheckReceipt", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) != 2 || args[0].Type() != js.TypeString || args[1].Type() != js.TypeString {
			return `{"valid":false,"error":"siegelCheckReceipt wants two strings: the receipt and the genesis JSON","error_kind":"other"}`
		}
		out, err := json.Marshal(receipt.Check([]byte(args[0].String()), []byte(args[1].String())))
		if err != nil {
			return `{"valid":false,"error":"internal error","error_kind":"other"}`
		}
		return string(out)
	}))
	select {} // keep the function alive for the page's lifetime
}
