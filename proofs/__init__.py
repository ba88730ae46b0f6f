"""Z3 checkers: the errno mapping over all 2^64 inputs, our own assembly executed
symbolically, and (later) the protocol steps read over symbolic states."""
