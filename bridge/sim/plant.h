/*
 * plant.h - the physics of the simulated ship-lock station.
 *
 * A plant is the state of the lock (water levels, gates, valves, hydraulic
 * power units, power, traffic) advanced by plant_step() in simulated
 * seconds.  It runs lockages up and down on its own: vessels arrive at
 * random, the lower or upper gate opens only when the levels either side are
 * equal, valves fill and empty the chamber with a flow that follows the
 * head, and so on (see plant.c).
 *
 * Tags are bound to the physics by their full id ("upper_gate.
 * left_leaf_position"): plant_value() returns the engineering value (after
 * scale/offset, as the bridge will decode it) of any tag the plant models,
 * and -1 for tags it does not know, which the simulator then serves as
 * constants.  Not thread-safe: the simulator serialises access.
 */
#ifndef LB_PLANT_H
#define LB_PLANT_H

#include <stdint.h>

#include "config/plcmap.h"
#include "core/val.h"

typedef struct plant plant;

/* The station must outlive the plant.  seed makes runs repeatable. */
plant *plant_new(const map_station *st, uint64_t seed);
void plant_free(plant *p);

/* Advances the physics by dt simulated seconds (callers pass small steps,
 * e.g. 0.1 s times the speed-up; plant_step subdivides large dt itself). */
void plant_step(plant *p, double dt_s);

/* The engineering value of tag t of PLC plc now: 0 and *out set, or -1 when
 * the plant does not model this tag. */
int plant_value(const plant *p, const map_plc *plc, const map_tag *t,
                val *out);

/* A one-line human summary ("upbound lockage, filling, chamber 12.31 m") for
 * the simulator's status output; writes into buf. */
void plant_describe(const plant *p, char *buf, size_t len);

#endif
