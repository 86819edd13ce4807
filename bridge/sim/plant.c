/*
 * plant.c - the physics of the simulated ship-lock station.
 *
 * One struct holds the lock's physical state; plant_step() advances it in
 * sub-steps of at most half a simulated second.  What is modelled:
 *
 *  - Water: upstream (~20 m) and downstream (~8 m) drift slowly (an
 *    Ornstein-Uhlenbeck walk of a few cm); the chamber (200 m x 23 m) fills
 *    and empties through four culvert valves with Q = Cd A(opening)
 *    sqrt(2 g |dh|), so a lockage's level change takes about ten minutes and
 *    slows as the head falls.  An open gate ties the chamber to that side.
 *  - Gates: two miter leaves per head on hydraulic hoists, 2.5-3.5 minutes
 *    per travel, the right leaf a little slower than the left and held in
 *    step by a synchronisation controller; a leaf leaves its closed limit
 *    only when the head across the gate is below 0.15 m (the interlock).
 *  - Valves ramp over about a minute; each head's hydraulic power unit runs
 *    while anything at that head moves (pressure, oil temperature, filter,
 *    run hours and starts follow the duty).
 *  - A lockage sequencer: vessels arrive at random (Poisson) on both sides
 *    and queue; the sequencer serves the side the chamber is open to first,
 *    turning the chamber round when only the other side waits.
 *  - Facilities: power draw follows the loads (pumps, lighting by time of
 *    day, HVAC), energy counters integrate it, transformer temperatures lag
 *    the load; the diesel generator has a daily test run and covers rare
 *    mains failures with the UPS bridging the gap; the drainage sump cycles
 *    its pumps with hysteresis; CCTV, weather and the fire panel idle along.
 *
 * Tags are bound to state by their full id once, in plant_new(), into a
 * table indexed like the station's own arrays, so plant_value() is a table
 * look-up and a switch.  A bool tag taken from a bit of a register is bound
 * to the status word at the same address and reads its bit from the same
 * composition, so words and their bits always agree.
 *
 * Randomness comes from a private xorshift generator seeded by the caller:
 * the same seed and the same sequence of plant_step() calls give the same
 * plant.  Not thread-safe: the simulator serialises access.
 */
#include "plant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the lock's dimensions ------------------------------------------- */

#define GRAV 9.81
#define CHAMBER_AREA (200.0 * 23.0)   /* m2, plan area of the chamber */
#define VALVE_AREA 9.0                /* m2, one 3 m x 3 m culvert valve */
#define VALVE_CD 0.68                 /* discharge coefficient, fully open */
#define VALVE_LIFT_MM 3000.0
#define UPSTREAM_MEAN 20.0
#define DOWNSTREAM_MEAN 8.0
#define EQUAL_TOL 0.05                /* valves close within this head */
#define GATE_HEAD_LIMIT 0.15          /* a gate may open below this head */
#define SYNC_LIMIT_MM 50.0
#define HPU_SETPOINT 14.0             /* MPa */
#define HPU_MIN_MOVE 9.0              /* MPa needed to move a hoist */
#define CHAMBER_CAPACITY 4            /* vessels per lockage */
#define QUEUE_MAX 12
#define ARRIVALS_PER_HOUR 2.4         /* per side */
#define DAY 86400.0
#define BASE_KW 12.5                  /* control, signals, heat tracing */
#define START_TIME_OF_DAY (8.0 * 3600) /* the simulated day starts at 08:00 */

enum { UP = 0, DOWN = 1 };                   /* sides, heads and gates */
enum { DIR_NONE = 0, DIR_UP = 1, DIR_DOWN = 2 };
enum {
    PH_IDLE, PH_PREPARE, PH_OPEN_ENTRY, PH_ENTER, PH_CLOSE_ENTRY,
    PH_LEVEL, PH_OPEN_EXIT, PH_LEAVE
};
enum { GEN_STANDBY, GEN_STARTING, GEN_RUNNING, GEN_COOLDOWN };

typedef struct {
    double pos;         /* % open */
    double vel;         /* %/s, positive while opening */
    double rate;        /* nominal %/s */
    double p_cap, p_rod;/* MPa */
    double travel_t;    /* s into the current travel */
    double last_travel; /* s, duration of the last complete travel */
    uint32_t ops;
} leaf;

typedef struct {
    leaf lf[2];         /* left, right */
    int cmd;            /* -1 close, 0 hold, +1 open */
    double stroke_mm;
    uint32_t cycles;
    bool was_open;
    double horn_t;      /* s left on the movement warning horn */
} gate;

typedef struct {
    double pos, vel, rate_open, rate_close;
    double target;      /* % opening setpoint */
    double p;           /* hoist cylinder pressure, MPa */
    double flow;        /* m3/s, positive into the chamber */
    uint32_t ops;
} valve;

typedef struct {
    bool run[2];
    int lead;           /* 0 or 1 */
    bool demand;
    double runon;       /* s left of run-on after the last demand */
    double press, acc, temp, clog;
    double hours[2];
    uint32_t starts[2];
    bool heater, cooler;
    double load;        /* 0..1, share of actuators moving */
} hpu;

typedef struct {
    char name[24];
    int dwt;
    double draught;
} vessel;

struct plant {
    const map_station *st;
    struct binding **bind;  /* [plc][tag] */
    uint64_t rng;
    double t;

    /* water */
    double up, dn, ch, ch_rate;
    double noise[3];        /* radar ripple, m */
    double b_off[3];        /* sensor B calibration offsets, m */

    gate g[2];
    valve v[4];             /* upper left, upper right, lower left, lower right */
    hpu h[2];

    /* traffic and the lockage sequencer */
    vessel q[2][QUEUE_MAX];
    int nq[2];
    vessel cham[CHAMBER_CAPACITY];
    int nch, n_moving;      /* vessels in the chamber; to enter or leave */
    double next_arrival[2];
    double vessel_t;        /* s left for the vessel now passing a gate */
    bool passing;
    vessel cur;             /* the vessel passing, valid while passing */
    int phase, dir, entry;  /* entry: the side vessels come in from */
    double phase_t, lock_t, level_start;
    uint32_t lockages, upbound, downbound, tonnage, passed;
    double last_cycle, last_fill, last_empty, last_gate;
    int today_lockages, today_vessels;
    long day;
    double broadcast_t, horn_t[2];

    /* power and facilities */
    bool mains, gen_breaker;
    double next_outage, outage_end, retransfer_t;
    int gen_state;
    double gen_t, gen_hours, fuel, coolant, gen_batt;
    double p_kw, q_kvar, motor_kw, demand_kw, kwh, kvarh, freq_dev, v_drift;
    double tr_temp[3];
    double ups_batt;
    double sump;
    bool drain_run[2];
    int drain_lead;
    double drain_hours[2];
    double out_t, room_t, room_rh, equip_t, pumproom_t;
    bool cooling;
    double wind, vis_dev, nvr_disk, cam_off_t, next_cam_drop;
};

/* ---- random numbers ---------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* xorshift64*: small, fast and good enough for a plant. */
static uint64_t rnd_u64(plant *p)
{
    p->rng ^= p->rng >> 12;
    p->rng ^= p->rng << 25;
    p->rng ^= p->rng >> 27;
    return p->rng * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, 1). */
static double rnd(plant *p)
{
    return (double)(rnd_u64(p) >> 11) * (1.0 / 9007199254740992.0);
}

static double rnd_range(plant *p, double lo, double hi)
{
    return lo + (hi - lo) * rnd(p);
}

static double rnd_gauss(plant *p)
{
    double u = rnd(p), v = rnd(p);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static double rnd_exp(plant *p, double mean)
{
    return -mean * log(1.0 - rnd(p));
}

/* One step of an Ornstein-Uhlenbeck walk around mean with time constant
 * tau and stationary standard deviation sd. */
static double ou(plant *p, double x, double mean, double tau, double sd,
                 double h)
{
    return x + (mean - x) * h / tau + sd * sqrt(2.0 * h / tau) * rnd_gauss(p);
}

static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* First-order lag of x towards target with time constant tau. */
static double lag(double x, double target, double tau, double h)
{
    return x + (target - x) * (h >= tau ? 1.0 : h / tau);
}

/* ---- derived state ------------------------------------------------------ */

static double side_level(const plant *p, int side)
{
    return side == UP ? p->up : p->dn;
}

/* Head across gate g, positive when the outside is higher. */
static double gate_head(const plant *p, int g)
{
    return g == UP ? p->up - p->ch : p->ch - p->dn;
}

static bool gate_open(const plant *p, int g)
{
    return p->g[g].lf[0].pos >= 100.0 && p->g[g].lf[1].pos >= 100.0;
}

static bool gate_closed(const plant *p, int g)
{
    return p->g[g].lf[0].pos <= 0.0 && p->g[g].lf[1].pos <= 0.0;
}

static bool valves_closed(const plant *p, int head)
{
    return p->v[2 * head].pos <= 0.0 && p->v[2 * head + 1].pos <= 0.0;
}

static bool bus_live(const plant *p)
{
    return p->mains || p->gen_breaker;
}

static double tod(const plant *p)
{
    return fmod(START_TIME_OF_DAY + p->t, DAY);
}

static double daylight_lux(const plant *p)
{
    /* Sunrise 05:36, sunset 18:48, 60 klx at noon on a clear day. */
    double x = (tod(p) - 5.6 * 3600) / (13.2 * 3600);
    return x <= 0 || x >= 1 ? 0.0 : 60000.0 * pow(sin(M_PI * x), 1.5);
}

static bool lights_on(const plant *p)
{
    return daylight_lux(p) < 120.0;
}

static bool hpu_ready(const plant *p, int u)
{
    return bus_live(p) && p->h[u].clog < 0.5;
}

/* ---- gates and valves --------------------------------------------------- */

static void leaf_step(plant *p, int g, int l, double h)
{
    gate *gt = &p->g[g];
    leaf *lf = &gt->lf[l];
    leaf *other = &gt->lf[1 - l];
    double want = gt->cmd > 0 ? 100.0 : gt->cmd < 0 ? 0.0 : lf->pos;
    double v = 0.0;
    bool hydraulics = p->h[g].press >= HPU_MIN_MOVE && bus_live(p);

    if (want != lf->pos && hydraulics) {
        int dir = want > lf->pos ? 1 : -1;
        /* The interlock: a leaf leaves its closed limit only with the
         * levels either side equal. */
        bool blocked = dir > 0 && lf->pos <= 0.0 &&
                       fabs(gate_head(p, g)) >= GATE_HEAD_LIMIT;
        if (!blocked) {
            double dist = dir > 0 ? 100.0 - lf->pos : lf->pos;
            double from = dir > 0 ? lf->pos : 100.0 - lf->pos;
            /* creep speed off the limits and into them */
            double f = (dist < 4.0 || from < 2.0) ? 0.35 : 1.0;
            /* synchronisation: the leading leaf waits for the other */
            double lead = (lf->pos - other->pos) * dir * gt->stroke_mm / 100;
            if (lead > 20.0)
                f *= 0.8;
            v = dir * lf->rate * f;
            double np = lf->pos + v * h;
            if ((dir > 0 && np >= 100.0) || (dir < 0 && np <= 0.0)) {
                np = dir > 0 ? 100.0 : 0.0;
                lf->ops++;
                lf->last_travel = lf->travel_t + h;
                if (l == 0)
                    p->last_gate = lf->last_travel;
                lf->travel_t = 0;
            } else {
                lf->travel_t += h;
            }
            lf->pos = np;
        }
    }
    if (v == 0.0 && want == lf->pos)
        lf->travel_t = 0;
    lf->vel = v;

    /* Pressures: the pressurised side carries the gate's drag, with a
     * break-away peak at the start of a travel; idle cylinders hold. */
    double cap = 0.8, rod = 0.6;
    if (v > 0) {
        cap = 8.6 + 2.2 * exp(-lf->travel_t / 6.0) +
              0.9 * sin(M_PI * lf->pos / 100.0);
        rod = 2.9;
    } else if (v < 0) {
        cap = 2.6;
        rod = 8.1 + 2.0 * exp(-lf->travel_t / 6.0) +
              0.7 * sin(M_PI * lf->pos / 100.0);
    }
    lf->p_cap = lag(lf->p_cap, cap, 1.5, h);
    lf->p_rod = lag(lf->p_rod, rod, 1.5, h);
}

static void gate_step(plant *p, int g, double h)
{
    gate *gt = &p->g[g];
    bool was_still = gt->lf[0].vel == 0 && gt->lf[1].vel == 0;
    leaf_step(p, g, 0, h);
    leaf_step(p, g, 1, h);
    bool moving = gt->lf[0].vel != 0 || gt->lf[1].vel != 0;
    if (was_still && moving)
        gt->horn_t = 5.0;
    gt->horn_t = gt->horn_t > h ? gt->horn_t - h : 0.0;
    if (gate_open(p, g))
        gt->was_open = true;
    if (gt->was_open && gate_closed(p, g)) {
        gt->was_open = false;
        gt->cycles++;
    }
}

static void valve_step(plant *p, int i, double h)
{
    valve *vv = &p->v[i];
    int head = i / 2;
    double v = 0.0;
    if (vv->target != vv->pos && p->h[head].press >= HPU_MIN_MOVE &&
        bus_live(p)) {
        if (vv->target > vv->pos) {
            v = vv->rate_open;
            vv->pos = fmin(vv->target, vv->pos + v * h);
        } else {
            v = -vv->rate_close;
            vv->pos = fmax(vv->target, vv->pos + v * h);
        }
        if (vv->pos == vv->target && (vv->pos == 0.0 || vv->pos == 100.0))
            vv->ops++;
    }
    vv->vel = v;
    double target_p = v != 0 ? 7.2 + 1.8 * (vv->pos / 100.0)
                      : vv->pos > 0 ? 4.1 : 0.5;
    vv->p = lag(vv->p, target_p, 2.0, h);
}

/* ---- hydraulic power units ---------------------------------------------- */

static void hpu_step(plant *p, int u, double h)
{
    hpu *hp = &p->h[u];
    const gate *gt = &p->g[u];
    int movers = 0, wanting = 0;
    for (int l = 0; l < 2; l++) {
        double want = gt->cmd > 0 ? 100.0 : gt->cmd < 0 ? 0.0 : gt->lf[l].pos;
        if (want != gt->lf[l].pos)
            wanting++;
        if (gt->lf[l].vel != 0)
            movers++;
    }
    for (int i = 2 * u; i < 2 * u + 2; i++) {
        if (p->v[i].target != p->v[i].pos)
            wanting++;
        if (p->v[i].vel != 0)
            movers++;
    }
    hp->demand = wanting > 0 && hpu_ready(p, u);
    hp->load = movers / 4.0;
    bool running = hp->run[0] || hp->run[1];
    if (hp->demand) {
        hp->runon = 15.0;
        if (!running) {
            hp->run[hp->lead] = true;
            hp->starts[hp->lead]++;
        }
    } else if (running) {
        hp->runon -= h;
        if (hp->runon <= 0 || !bus_live(p)) {
            hp->run[0] = hp->run[1] = false;
            hp->lead = 1 - hp->lead;  /* duty/standby alternate per start */
        }
    }
    running = hp->run[0] || hp->run[1];
    for (int k = 0; k < 2; k++)
        if (hp->run[k])
            hp->hours[k] += h / 3600.0;

    double target = running ? HPU_SETPOINT - 1.6 * hp->load : 0.3;
    hp->press = lag(hp->press, target, running ? 1.5 : 25.0, h);
    if (running)
        hp->acc = lag(hp->acc, fmin(hp->press, 13.2), 4.0, h);
    else
        hp->acc = lag(hp->acc, 0.0, 7200.0, h);

    /* Oil heats with duty and loses heat to the pump room; the cooler and
     * the heater switch with hysteresis. */
    double dtemp = (p->pumproom_t - hp->temp) / (3.0 * 3600);
    if (running)
        dtemp += (9.0 + 12.0 * hp->load) / 3600.0;
    if (hp->temp > 45.0)
        hp->cooler = true;
    else if (hp->temp < 40.0)
        hp->cooler = false;
    if (hp->temp < 10.0)
        hp->heater = true;
    else if (hp->temp > 15.0)
        hp->heater = false;
    if (hp->cooler)
        dtemp -= (hp->temp - p->pumproom_t) / 900.0;
    if (hp->heater)
        dtemp += 3.0 / 3600.0;
    hp->temp += dtemp * h;
    if (running)
        hp->clog += 1.5e-6 * h;  /* the return filter loads with running */
}

static double hpu_oil_level(const plant *p, int u)
{
    /* Oil moves into the cylinders as the leaves and valves open. */
    double g = (p->g[u].lf[0].pos + p->g[u].lf[1].pos) / 200.0;
    double v = (p->v[2 * u].pos + p->v[2 * u + 1].pos) / 200.0;
    return 71.0 - 7.5 * g - 2.0 * v;
}

static double hpu_filter_dp(const plant *p, int u)
{
    const hpu *hp = &p->h[u];
    if (!hp->run[0] && !hp->run[1])
        return 0.0;
    return 0.06 + hp->clog + 0.003 * fmax(0.0, 40.0 - hp->temp);
}

static uint16_t hpu_word(const plant *p, int u)
{
    const hpu *hp = &p->h[u];
    uint16_t w = 0;
    w |= hp->run[0] ? 1u << 0 : 0;
    w |= hp->run[1] ? 1u << 1 : 0;
    w |= hpu_filter_dp(p, u) > 0.35 ? 1u << 4 : 0;
    w |= hpu_oil_level(p, u) < 40.0 ? 1u << 5 : 0;
    w |= hp->temp > 55.0 ? 1u << 6 : 0;
    w |= hp->heater ? 1u << 7 : 0;
    w |= hp->cooler ? 1u << 8 : 0;
    w |= hpu_ready(p, u) ? 1u << 9 : 0;
    return w;
}

static double pump_current(const plant *p, int u, int k)
{
    if (!p->h[u].run[k])
        return 0.0;
    return 38.0 + 34.0 * p->h[u].load + 1.5 * sin(p->t * 0.7 + u + 2 * k);
}

/* ---- water -------------------------------------------------------------- */

static void water_step(plant *p, double h)
{
    p->up = ou(p, p->up, UPSTREAM_MEAN, 3600.0, 0.03, h);
    p->dn = ou(p, p->dn, DOWNSTREAM_MEAN, 3600.0, 0.03, h);

    double q = 0.0;
    for (int i = 0; i < 4; i++) {
        double outside = i < 2 ? p->up : p->dn;
        double dh = outside - p->ch;
        double a = VALVE_AREA * p->v[i].pos / 100.0;
        p->v[i].flow = VALVE_CD * a * (dh >= 0 ? 1 : -1) *
                       sqrt(2.0 * GRAV * fabs(dh));
        q += p->v[i].flow;
    }
    double before = p->ch;
    double nch = p->ch + q * h / CHAMBER_AREA;
    /* Valve flow cannot carry the chamber past the level feeding it. */
    double lo = fmin(p->dn, p->ch), hi = fmax(p->up, p->ch);
    if (p->v[0].pos + p->v[1].pos == 0)
        hi = fmax(p->dn, p->ch);
    if (p->v[2].pos + p->v[3].pos == 0)
        lo = fmin(p->up, p->ch);
    nch = clampd(nch, lo, hi);
    /* An open gate joins the chamber to that side. */
    for (int g = 0; g < 2; g++) {
        double open = (p->g[g].lf[0].pos + p->g[g].lf[1].pos) / 200.0;
        if (open > 0)
            nch = lag(nch, side_level(p, g), 20.0 / open, h);
    }
    p->ch = nch;
    p->ch_rate = lag(p->ch_rate, (nch - before) / h, 5.0, h);
    for (int i = 0; i < 3; i++)
        p->noise[i] = ou(p, p->noise[i], 0.0, 20.0, 0.003, h);
}

/* ---- vessels and the lockage sequencer ---------------------------------- */

static void make_vessel(plant *p, vessel *v)
{
    static const char *const ports[] = {
        "SUHUO", "WANHUO", "LUJIYUN", "ZHEHUO", "YUHUO", "XIANGHUO",
        "GANHUO", "EHUO", "SUQIANHUO", "HUAIHUO",
    };
    size_t n = sizeof ports / sizeof ports[0];
    snprintf(v->name, sizeof v->name, "%s %04u",
             ports[rnd_u64(p) % n], (unsigned)(rnd_u64(p) % 9000 + 1000));
    v->dwt = 300 + (int)(rnd(p) * 27) * 100;
    v->draught = 1.6 + 1.6 * (v->dwt / 3000.0) + rnd_range(p, -0.1, 0.1);
}

static void arrivals_step(plant *p)
{
    for (int s = 0; s < 2; s++) {
        while (p->t >= p->next_arrival[s]) {
            if (p->nq[s] < QUEUE_MAX)
                make_vessel(p, &p->q[s][p->nq[s]++]);
            p->next_arrival[s] += rnd_exp(p, 3600.0 / ARRIVALS_PER_HOUR);
        }
    }
}

static bool suspended(const plant *p)
{
    return p->wind > 13.8;  /* force 7: navigation stops */
}

static void set_phase(plant *p, int ph)
{
    p->phase = ph;
    p->phase_t = 0;
    if (ph == PH_ENTER || ph == PH_LEAVE || ph == PH_PREPARE)
        p->broadcast_t = 30.0;
}

static void set_valves(plant *p, int head, double target)
{
    p->v[2 * head].target = target;
    p->v[2 * head + 1].target = target;
}

static void start_lockage(plant *p, int entry)
{
    p->entry = entry;
    p->dir = entry == DOWN ? DIR_UP : DIR_DOWN;
    p->lock_t = 0;
    set_phase(p, PH_PREPARE);
}

static void finish_lockage(plant *p)
{
    p->lockages++;
    p->today_lockages++;
    if (p->dir == DIR_UP)
        p->upbound++;
    else
        p->downbound++;
    p->last_cycle = p->lock_t;
    p->dir = DIR_NONE;
    set_phase(p, PH_IDLE);
}

/* Brings the vessel at the head of a list across a gate: vessel_t is the
 * time it needs, passing marks the gate zone occupied meanwhile. */
static void begin_passage(plant *p, const vessel *v, double lo, double hi)
{
    p->cur = *v;
    p->passing = true;
    p->vessel_t = rnd_range(p, lo, hi);
}

static void sequencer_step(plant *p, double h)
{
    int entry = p->entry, exit = 1 - p->entry;
    p->phase_t += h;
    if (p->phase != PH_IDLE)
        p->lock_t += h;

    switch (p->phase) {
    case PH_IDLE: {
        if (suspended(p) || !bus_live(p))
            break;
        int open_side = gate_open(p, UP) ? UP : gate_open(p, DOWN) ? DOWN : -1;
        if (open_side >= 0 && p->nq[open_side] > 0)
            start_lockage(p, open_side);
        else if (p->nq[UP] > 0 || p->nq[DOWN] > 0)
            start_lockage(p, p->nq[UP] >= p->nq[DOWN] ? UP : DOWN);
        break;
    }
    case PH_PREPARE:
        /* Turn the chamber round when it is open to the other side. */
        if (!gate_closed(p, exit)) {
            p->g[exit].cmd = -1;
        } else if (gate_open(p, entry)) {
            set_phase(p, PH_OPEN_ENTRY);
        } else if (fabs(p->ch - side_level(p, entry)) > EQUAL_TOL &&
                   p->v[2 * entry].target == 0 && valves_closed(p, entry)) {
            set_valves(p, entry, 100.0);
        } else if (fabs(p->ch - side_level(p, entry)) <= EQUAL_TOL) {
            set_valves(p, entry, 0.0);
            if (valves_closed(p, entry))
                set_phase(p, PH_OPEN_ENTRY);
        }
        break;
    case PH_OPEN_ENTRY:
        if (gate_closed(p, entry) &&
            fabs(gate_head(p, entry)) >= GATE_HEAD_LIMIT) {
            set_phase(p, PH_PREPARE);  /* the level drifted: level again */
            break;
        }
        p->g[entry].cmd = 1;
        if (gate_open(p, entry)) {
            p->n_moving = p->nq[entry] < CHAMBER_CAPACITY ? p->nq[entry]
                                                          : CHAMBER_CAPACITY;
            set_phase(p, PH_ENTER);
        }
        break;
    case PH_ENTER:
        if (p->passing) {
            p->vessel_t -= h;
            if (p->vessel_t <= 0) {
                p->passing = false;
                p->cham[p->nch++] = p->cur;
                p->n_moving--;
                /* the queue shifts up: vessel 0 has gone in */
                memmove(&p->q[entry][0], &p->q[entry][1],
                        (size_t)(p->nq[entry] - 1) * sizeof(vessel));
                p->nq[entry]--;
            }
        } else if (p->n_moving > 0 && p->nq[entry] > 0) {
            begin_passage(p, &p->q[entry][0], 150.0, 240.0);
        } else if (p->phase_t > 90.0) {
            p->n_moving = 0;
            set_phase(p, PH_CLOSE_ENTRY);  /* after mooring */
        }
        break;
    case PH_CLOSE_ENTRY:
        p->g[entry].cmd = -1;
        if (gate_closed(p, entry)) {
            p->level_start = p->t;
            set_phase(p, PH_LEVEL);
        }
        break;
    case PH_LEVEL:
        if (fabs(p->ch - side_level(p, exit)) > EQUAL_TOL) {
            if (p->v[2 * exit].target == 0 && valves_closed(p, exit))
                set_valves(p, exit, 100.0);
        } else {
            if (p->v[2 * exit].target > 0) {
                if (exit == UP)
                    p->last_fill = p->t - p->level_start;
                else
                    p->last_empty = p->t - p->level_start;
            }
            set_valves(p, exit, 0.0);
            if (valves_closed(p, exit))
                set_phase(p, PH_OPEN_EXIT);
        }
        break;
    case PH_OPEN_EXIT:
        if (gate_closed(p, exit) &&
            fabs(gate_head(p, exit)) >= GATE_HEAD_LIMIT) {
            p->phase = PH_LEVEL;
            break;
        }
        p->g[exit].cmd = 1;
        if (gate_open(p, exit)) {
            p->n_moving = p->nch;
            set_phase(p, PH_LEAVE);
        }
        break;
    case PH_LEAVE:
        if (p->passing) {
            p->vessel_t -= h;
            if (p->vessel_t <= 0) {
                p->passing = false;
                p->tonnage += (uint32_t)p->cur.dwt;
                p->passed++;
                p->today_vessels++;
                memmove(&p->cham[0], &p->cham[1],
                        (size_t)(p->nch - 1) * sizeof(vessel));
                p->nch--;
            }
        } else if (p->nch > 0) {
            begin_passage(p, &p->cham[0], 120.0, 180.0);
        } else if (p->phase_t > 20.0) {
            finish_lockage(p);
        }
        break;
    }
}

/* Rough time left in the lockage, s, from each phase's usual duration. */
static double remaining_estimate(const plant *p)
{
    static const double base[] = {0, 0, 200, 0, 200, 700, 200, 0};
    if (p->phase == PH_IDLE)
        return 0;
    int n = p->phase <= PH_ENTER ? p->nq[p->entry] : p->nch;
    if (n > CHAMBER_CAPACITY)
        n = CHAMBER_CAPACITY;
    double rest = 0;
    for (int ph = p->phase; ph <= PH_LEAVE; ph++) {
        double d = base[ph];
        if (ph == PH_ENTER)
            d = 195.0 * n + 90;
        if (ph == PH_LEAVE)
            d = 150.0 * n + 20;
        if (ph == PH_PREPARE)
            d = gate_open(p, p->entry) ? 0 : 900;
        if (ph == p->phase)
            d = fmax(0.0, d - p->phase_t);
        rest += d;
    }
    return rest;
}

/* ---- power and facilities ------------------------------------------------ */

static void generator_step(plant *p, double h)
{
    double now = tod(p);
    bool test = now >= 10 * 3600.0 && now < 10 * 3600.0 + 900;

    /* Rare mains failures: the ATS starts the generator, the UPS bridges. */
    if (p->mains && p->t >= p->next_outage) {
        p->mains = false;
        p->outage_end = p->t + rnd_range(p, 60.0, 300.0);
    }
    if (!p->mains && p->t >= p->outage_end) {
        p->mains = true;
        p->retransfer_t = 60.0;
        p->next_outage = p->t + rnd_exp(p, 36.0 * 3600);
    }
    bool needed = test || !p->mains || p->retransfer_t > 0;
    if (p->mains && p->retransfer_t > 0)
        p->retransfer_t -= h;

    p->gen_t += h;
    switch (p->gen_state) {
    case GEN_STANDBY:
        if (needed) {
            p->gen_state = GEN_STARTING;
            p->gen_t = 0;
        }
        break;
    case GEN_STARTING:
        if (p->gen_t >= 9.0) {
            p->gen_state = GEN_RUNNING;
            p->gen_t = 0;
        }
        break;
    case GEN_RUNNING:
        if (!needed) {
            p->gen_state = GEN_COOLDOWN;
            p->gen_t = 0;
        }
        break;
    case GEN_COOLDOWN:
        if (needed) {
            p->gen_state = GEN_RUNNING;
        } else if (p->gen_t >= 180.0) {
            p->gen_state = GEN_STANDBY;
            p->gen_t = 0;
        }
        break;
    }
    p->gen_breaker = p->gen_state == GEN_RUNNING && !p->mains;
    bool running = p->gen_state == GEN_RUNNING || p->gen_state == GEN_COOLDOWN;
    if (running) {
        p->gen_hours += h / 3600.0;
        p->fuel -= (p->gen_breaker ? 0.0009 : 0.0003) * h;
        if (p->fuel < 40.0)
            p->fuel = 95.0;  /* the tanker came */
    }
    p->coolant = lag(p->coolant, running ? 83.0 : 42.0, 400.0, h);
    p->gen_batt = lag(p->gen_batt, p->gen_state == GEN_STARTING ? 21.8
                                   : running ? 28.1 : 27.3, 2.0, h);
}

static double lighting_kw(const plant *p)
{
    return lights_on(p) ? 6.0 + 2.0 + 2.0 + 4.0 + 3.0 + 0.5
                        : (tod(p) >= 7.5 * 3600 && tod(p) < 17.5 * 3600 ? 3.0
                                                                        : 0);
}

static void power_step(plant *p, double h)
{
    double motor = 0.0, other = BASE_KW + lighting_kw(p);
    for (int u = 0; u < 2; u++)
        for (int k = 0; k < 2; k++)
            if (p->h[u].run[k])
                motor += 16.0 + 18.0 * p->h[u].load;
    for (int k = 0; k < 2; k++)
        if (p->drain_run[k])
            motor += 5.5;
    motor += p->cooling ? 11.0 : 1.5;
    p->motor_kw = motor;
    double pk = motor + other;
    double qk = motor * tan(acos(0.84)) + other * tan(acos(0.97));
    if (!p->mains) {
        pk = qk = 0.0;  /* the meter sits on the incoming feeder */
    }
    p->p_kw = pk;
    p->q_kvar = qk;
    p->kwh += pk * h / 3600.0;
    p->kvarh += qk * h / 3600.0;
    p->demand_kw = lag(p->demand_kw, pk, 900.0, h);
    p->freq_dev = ou(p, p->freq_dev, 0.0, 120.0, 0.015, h);
    p->v_drift = ou(p, p->v_drift, 0.0, 600.0, 1.2, h);

    /* Dry-type transformer, 400 kVA: winding rise goes with load^1.6. */
    double load = sqrt(pk * pk + qk * qk) / 400.0;
    for (int i = 0; i < 3; i++) {
        double target = p->equip_t + 8.0 + 75.0 * pow(load, 1.6) +
                        (i == 1 ? 1.5 : i == 2 ? -0.8 : 0.0);
        p->tr_temp[i] = lag(p->tr_temp[i], target, 1800.0, h);
    }

    /* UPS: 45 min autonomy at 40 % load, 8 h recharge. */
    if (!bus_live(p))
        p->ups_batt = fmax(0.0, p->ups_batt - h * 100.0 / (45.0 * 60));
    else
        p->ups_batt = fmin(100.0, p->ups_batt + h * 100.0 / (8.0 * 3600));
}

static void drainage_step(plant *p, double h)
{
    double inflow = 0.00015 + (p->phase == PH_LEVEL ? 0.00005 : 0.0);
    int running = p->drain_run[0] + p->drain_run[1];
    if (!bus_live(p)) {
        p->drain_run[0] = p->drain_run[1] = false;
        running = 0;
    }
    p->sump = fmax(0.0, p->sump + (inflow - 0.0028 * running) * h);
    int lead = p->drain_lead;
    if (bus_live(p)) {
        if (p->sump >= 2.0)
            p->drain_run[lead] = true;
        if (p->sump >= 2.6)
            p->drain_run[1 - lead] = true;
        if (p->sump <= 0.6 && (p->drain_run[0] || p->drain_run[1])) {
            p->drain_run[0] = p->drain_run[1] = false;
            p->drain_lead = 1 - lead;
        }
    }
    for (int k = 0; k < 2; k++)
        if (p->drain_run[k])
            p->drain_hours[k] += h / 3600.0;
}

static void climate_step(plant *p, double h)
{
    double phase = 2.0 * M_PI * (tod(p) - 9.0 * 3600) / DAY;
    double out_mean = 26.0 + 5.0 * sin(phase);  /* warmest at 15:00 */
    p->out_t = ou(p, p->out_t, out_mean, 1800.0, 0.6, h);
    p->room_t += h * ((p->out_t - p->room_t) / 14400.0 + 0.00012 -
                      (p->cooling ? 0.0009 : 0.0));
    if (p->room_t > 25.0)
        p->cooling = true;
    else if (p->room_t < 23.5)
        p->cooling = false;
    p->room_rh = lag(p->room_rh, p->cooling ? 47.0 : 60.0, 1200.0, h);
    p->equip_t = lag(p->equip_t, 27.0 + 0.6 * (p->out_t - 26.0), 3600.0, h);
    p->pumproom_t = lag(p->pumproom_t, 20.0 + 0.7 * (p->out_t - 26.0), 3600.0, h);
}

static void misc_step(plant *p, double h)
{
    p->wind = fmax(0.0, ou(p, p->wind, 3.5, 600.0, 1.5, h));
    p->vis_dev = ou(p, p->vis_dev, 0.0, 1800.0, 400.0, h);
    p->nvr_disk += h * 0.5 / 3600.0;
    if (p->nvr_disk >= 95.0)
        p->nvr_disk = 80.0;  /* the recorder overwrites the oldest days */
    if (p->t >= p->next_cam_drop) {
        p->cam_off_t = rnd_range(p, 20.0, 90.0);
        p->next_cam_drop = p->t + rnd_exp(p, 3.0 * 3600);
    }
    if (p->cam_off_t > 0)
        p->cam_off_t -= h;
    if (p->broadcast_t > 0)
        p->broadcast_t -= h;
    for (int s = 0; s < 2; s++)
        if (p->horn_t[s] > 0)
            p->horn_t[s] -= h;
    long day = (long)floor((START_TIME_OF_DAY + p->t) / DAY);
    if (day != p->day) {
        p->day = day;
        p->today_lockages = p->today_vessels = 0;
    }
}

static void substep(plant *p, double h)
{
    p->t += h;
    climate_step(p, h);
    generator_step(p, h);
    arrivals_step(p);
    int before = p->phase;
    sequencer_step(p, h);
    if (p->phase != before && (p->phase == PH_ENTER || p->phase == PH_LEAVE))
        p->horn_t[p->phase == PH_ENTER ? p->entry : 1 - p->entry] = 4.0;
    for (int u = 0; u < 2; u++)
        hpu_step(p, u, h);
    for (int g = 0; g < 2; g++)
        gate_step(p, g, h);
    for (int i = 0; i < 4; i++)
        valve_step(p, i, h);
    water_step(p, h);
    power_step(p, h);
    drainage_step(p, h);
    misc_step(p, h);
}

void plant_step(plant *p, double dt_s)
{
    if (!p || !(dt_s > 0))
        return;
    int n = (int)ceil(dt_s / 0.5);
    double h = dt_s / n;
    for (int i = 0; i < n; i++)
        substep(p, h);
}

/* ---- tag bindings -------------------------------------------------------- */

/* What a tag shows: a signal and up to two indices (gate/valve/unit/side,
 * leaf/pump).  sig 0 means "not modelled". */
struct binding {
    uint16_t sig;
    uint8_t a, b;
};

enum {
    S_NONE,
    /* gates: a = gate, b = leaf */
    S_LEAF_POS, S_LEAF_MM, S_LEAF_SPEED, S_LEAF_CAP, S_LEAF_ROD, S_LEAF_WORD,
    S_LEAF_STATE, S_LEAF_FAULT, S_LEAF_OPS, S_LEAF_LAST, S_LEAF_SPEED_SP,
    S_LEAF_PLIMIT, S_SYNC_DEV, S_GATE_STATE, S_GATE_WORD, S_GATE_HEAD,
    S_SYNC_LIMIT, S_HEAD_LIMIT, S_GATE_CYCLES, S_HEARTBEAT, S_SCAN_TIME,
    S_FALSE, S_TRUE, S_SOL_OPEN, S_SOL_CLOSE, S_GATE_HORN,
    /* valves: a = valve (or head for culverts) */
    S_V_POS, S_V_LIFT, S_V_PRESS, S_V_WORD, S_V_STATE, S_V_FLOW, S_V_SP,
    S_V_OPS, S_CULVERT, S_V_SOL_OPEN, S_V_SOL_CLOSE, S_ZERO,
    /* levels: a = 0 upstream, 1 chamber, 2 downstream */
    S_LEVEL, S_LEVEL_B, S_HEAD, S_RATE, S_SENSOR_WORD, S_LOOP_MA, S_WATER_T,
    S_CONST, S_SWITCH,
    /* hydraulic power units: a = unit, b = pump */
    S_H_WORD, S_H_PRESS, S_H_TEMP, S_H_LEVEL, S_H_CURRENT, S_H_DP, S_H_ACC,
    S_H_LEAD, S_H_STATE, S_H_HOURS, S_H_STARTS, S_PUMPROOM_T,
    /* power and facilities */
    S_VOLT, S_VOLT_LL, S_AMP, S_KW, S_KVAR, S_KVA, S_PF, S_FREQ, S_KWH,
    S_KVARH, S_WH, S_DEMAND, S_TR_TEMP, S_TR_WORD, S_TR_LOAD, S_GEN_STATE,
    S_GEN_BATT, S_GEN_FUEL, S_GEN_V, S_GEN_KW, S_GEN_COOLANT, S_GEN_HOURS,
    S_UPS_BATT, S_UPS_WORD, S_UPS_LOAD, S_UPS_RUNTIME, S_UPS_BATT_V,
    S_UPS_IN_V, S_UPS_OUT_V, S_SUMP, S_DRAIN_WORD, S_DRAIN_AMP,
    S_DRAIN_HOURS, S_LIGHT_WORD, S_LUX, S_ROOM_T, S_ROOM_RH, S_HVAC_STATE,
    S_OUT_T, S_EQUIP_T, S_FIRE_WORD, S_MAINS, S_MAINS_BRK, S_GEN_BRK,
    S_DRAIN_RUN,
    /* signals */
    S_LIGHT, S_DET_WORD, S_IN_CHAMBER, S_QUEUE, S_PASSED, S_VESSEL,
    S_VESSEL_DWT, S_VESSEL_DRAUGHT, S_BROADCAST, S_CCTV_WORD, S_CAMS,
    S_NVR_DISK, S_WIND, S_VIS, S_BEAM, S_HORN, S_AMPLIFIER,
    /* lockage */
    S_K_STATE, S_K_PHASE, S_K_DIR, S_K_PHASE_T, S_K_LOCK_T, S_K_REMAIN,
    S_K_COUNT, S_K_UP, S_K_DOWN, S_K_TONNAGE, S_K_LAST_CYCLE, S_K_LAST_FILL,
    S_K_LAST_EMPTY, S_K_LAST_TRAVEL, S_K_WORD, S_K_ID, S_K_TODAY,
    S_K_VESSELS_TODAY, S_K_UPTIME,
};

typedef struct {
    const char *name;
    uint16_t sig;
    uint8_t a, b;
} bind_def;

/* Settings served as constants are S_CONST with a = index here. */
static const double settings[] = {
    EQUAL_TOL, GATE_HEAD_LIMIT, 21.5, 18.5, 10.0, 6.5,       /* levels */
    HPU_SETPOINT, 55.0, 10.0,                                /* hpu */
    2.0, 0.6,                                                /* sump */
    1, 24.0, 0, 0,                       /* lighting mode, HVAC sp, fire */
    SYNC_LIMIT_MM,
};
enum {
    K_EQUAL_TOL, K_HEAD_LIMIT, K_UP_HIGH, K_UP_LOW, K_DN_HIGH, K_DN_LOW,
    K_HPU_SP, K_OIL_LIMIT, K_HEATER_T, K_SUMP_START, K_SUMP_STOP,
    K_LIGHT_MODE, K_HVAC_SP, K_FIRE_STATE, K_FIRE_COUNT, K_SYNC_LIMIT,
};

static const bind_def leaf_defs[] = {
    {"position", S_LEAF_POS, 0, 0},       {"stroke", S_LEAF_MM, 0, 0},
    {"speed", S_LEAF_SPEED, 0, 0},        {"cap_pressure", S_LEAF_CAP, 0, 0},
    {"rod_pressure", S_LEAF_ROD, 0, 0},   {"status", S_LEAF_WORD, 0, 0},
    {"state", S_LEAF_STATE, 0, 0},        {"fault_code", S_LEAF_FAULT, 0, 0},
    {"operations", S_LEAF_OPS, 0, 0},     {"last_travel_time", S_LEAF_LAST, 0, 0},
    {"speed_setpoint", S_LEAF_SPEED_SP, 0, 0},
    {"pressure_limit", S_LEAF_PLIMIT, 0, 0},
    {"locked", S_FALSE, 0, 0},
};

static const bind_def gate_defs[] = {
    {"sync_deviation", S_SYNC_DEV, 0, 0}, {"gate_state", S_GATE_STATE, 0, 0},
    {"gate_status", S_GATE_WORD, 0, 0},   {"head_difference", S_GATE_HEAD, 0, 0},
    {"sync_limit", S_CONST, K_SYNC_LIMIT, 0},
    {"head_limit", S_CONST, K_HEAD_LIMIT, 0},
    {"gate_cycles", S_GATE_CYCLES, 0, 0}, {"heartbeat", S_HEARTBEAT, 0, 0},
    {"cycle_time", S_SCAN_TIME, 0, 0},    {"control_power_ok", S_TRUE, 0, 0},
    {"cabinet_door_open", S_FALSE, 0, 0}, {"local_panel_active", S_FALSE, 0, 0},
    {"left_open_solenoid", S_SOL_OPEN, 0, 0},
    {"left_close_solenoid", S_SOL_CLOSE, 0, 0},
    {"right_open_solenoid", S_SOL_OPEN, 0, 1},
    {"right_close_solenoid", S_SOL_CLOSE, 0, 1},
    {"warning_horn", S_GATE_HORN, 0, 0},
};

static const bind_def valve_defs[] = {
    {"position", S_V_POS, 0, 0},          {"lift", S_V_LIFT, 0, 0},
    {"pressure", S_V_PRESS, 0, 0},        {"status", S_V_WORD, 0, 0},
    {"state", S_V_STATE, 0, 0},           {"fault_code", S_ZERO, 0, 0},
    {"flow", S_V_FLOW, 0, 0},             {"setpoint", S_V_SP, 0, 0},
    {"operations", S_V_OPS, 0, 0},        {"open_solenoid", S_V_SOL_OPEN, 0, 0},
    {"close_solenoid", S_V_SOL_CLOSE, 0, 0},
    {"maintenance_lock", S_FALSE, 0, 0},
};

static const bind_def valves_misc_defs[] = {
    {"upper_culvert_pressure", S_CULVERT, UP, 0},
    {"lower_culvert_pressure", S_CULVERT, DOWN, 0},
};

static const bind_def level_defs[] = {
    {"upstream_level", S_LEVEL, 0, 0},   {"chamber_level", S_LEVEL, 1, 0},
    {"downstream_level", S_LEVEL, 2, 0}, {"upper_head", S_HEAD, UP, 0},
    {"lower_head", S_HEAD, DOWN, 0},     {"chamber_rate", S_RATE, 0, 0},
    {"upstream_level_b", S_LEVEL_B, 0, 0},
    {"chamber_level_b", S_LEVEL_B, 1, 0},
    {"downstream_level_b", S_LEVEL_B, 2, 0},
    {"sensor_status", S_SENSOR_WORD, 0, 0},
    {"upstream_sensor_state", S_ZERO, 0, 0},
    {"chamber_sensor_state", S_ZERO, 0, 0},
    {"downstream_sensor_state", S_ZERO, 0, 0},
    {"upstream_loop_current", S_LOOP_MA, 0, 0},
    {"chamber_loop_current", S_LOOP_MA, 1, 0},
    {"downstream_loop_current", S_LOOP_MA, 2, 0},
    {"water_temperature", S_WATER_T, 0, 0},
    {"equal_tolerance", S_CONST, K_EQUAL_TOL, 0},
    {"gate_head_limit", S_CONST, K_HEAD_LIMIT, 0},
    {"upstream_high_limit", S_CONST, K_UP_HIGH, 0},
    {"upstream_low_limit", S_CONST, K_UP_LOW, 0},
    {"downstream_high_limit", S_CONST, K_DN_HIGH, 0},
    {"downstream_low_limit", S_CONST, K_DN_LOW, 0},
    {"upstream_high_switch", S_SWITCH, 0, 0},
    {"upstream_low_switch", S_SWITCH, 1, 0},
    {"downstream_high_switch", S_SWITCH, 2, 0},
    {"downstream_low_switch", S_SWITCH, 3, 0},
};

static const bind_def hpu_defs[] = {
    {"status", S_H_WORD, 0, 0},           {"oil_pressure", S_H_PRESS, 0, 0},
    {"oil_temperature", S_H_TEMP, 0, 0},  {"oil_level", S_H_LEVEL, 0, 0},
    {"pump1_current", S_H_CURRENT, 0, 0}, {"pump2_current", S_H_CURRENT, 0, 1},
    {"filter_dp", S_H_DP, 0, 0},          {"accumulator_pressure", S_H_ACC, 0, 0},
    {"lead_pump", S_H_LEAD, 0, 0},        {"state", S_H_STATE, 0, 0},
    {"pump1_hours", S_H_HOURS, 0, 0},     {"pump2_hours", S_H_HOURS, 0, 1},
    {"pump1_starts", S_H_STARTS, 0, 0},   {"pump2_starts", S_H_STARTS, 0, 1},
    {"pressure_setpoint", S_CONST, K_HPU_SP, 0},
    {"oil_temp_limit", S_CONST, K_OIL_LIMIT, 0},
    {"heater_threshold", S_CONST, K_HEATER_T, 0},
};

static const bind_def hpu_misc_defs[] = {
    {"pump_room_temperature", S_PUMPROOM_T, 0, 0},
};

static const bind_def power_defs[] = {
    {"voltage_a", S_VOLT, 0, 0},          {"voltage_b", S_VOLT, 1, 0},
    {"voltage_c", S_VOLT, 2, 0},          {"voltage_ab", S_VOLT_LL, 0, 1},
    {"voltage_bc", S_VOLT_LL, 1, 2},      {"voltage_ca", S_VOLT_LL, 2, 0},
    {"current_a", S_AMP, 0, 0},           {"current_b", S_AMP, 1, 0},
    {"current_c", S_AMP, 2, 0},           {"active_power", S_KW, 0, 0},
    {"reactive_power", S_KVAR, 0, 0},     {"apparent_power", S_KVA, 0, 0},
    {"power_factor", S_PF, 0, 0},         {"frequency", S_FREQ, 0, 0},
    {"energy_import", S_KWH, 0, 0},       {"energy_reactive", S_KVARH, 0, 0},
    {"energy_total_wh", S_WH, 0, 0},      {"demand_power", S_DEMAND, 0, 0},
    {"transformer_temp_a", S_TR_TEMP, 0, 0},
    {"transformer_temp_b", S_TR_TEMP, 1, 0},
    {"transformer_temp_c", S_TR_TEMP, 2, 0},
    {"transformer_status", S_TR_WORD, 0, 0},
    {"transformer_load", S_TR_LOAD, 0, 0},
    {"generator_state", S_GEN_STATE, 0, 0},
    {"generator_battery_voltage", S_GEN_BATT, 0, 0},
    {"generator_fuel_level", S_GEN_FUEL, 0, 0},
    {"generator_output_voltage", S_GEN_V, 0, 0},
    {"generator_power", S_GEN_KW, 0, 0},
    {"generator_coolant_temp", S_GEN_COOLANT, 0, 0},
    {"generator_run_hours", S_GEN_HOURS, 0, 0},
    {"ups_battery", S_UPS_BATT, 0, 0},    {"ups_status", S_UPS_WORD, 0, 0},
    {"ups_load", S_UPS_LOAD, 0, 0},       {"ups_runtime", S_UPS_RUNTIME, 0, 0},
    {"ups_battery_voltage", S_UPS_BATT_V, 0, 0},
    {"ups_input_voltage", S_UPS_IN_V, 0, 0},
    {"ups_output_voltage", S_UPS_OUT_V, 0, 0},
    {"sump_level", S_SUMP, 0, 0},         {"drainage_status", S_DRAIN_WORD, 0, 0},
    {"drain_pump1_current", S_DRAIN_AMP, 0, 0},
    {"drain_pump2_current", S_DRAIN_AMP, 1, 0},
    {"drain_pump1_hours", S_DRAIN_HOURS, 0, 0},
    {"drain_pump2_hours", S_DRAIN_HOURS, 1, 0},
    {"sump_start_level", S_CONST, K_SUMP_START, 0},
    {"sump_stop_level", S_CONST, K_SUMP_STOP, 0},
    {"lighting_status", S_LIGHT_WORD, 0, 0},
    {"lighting_mode", S_CONST, K_LIGHT_MODE, 0},
    {"illuminance", S_LUX, 0, 0},
    {"control_room_temp", S_ROOM_T, 0, 0},
    {"control_room_humidity", S_ROOM_RH, 0, 0},
    {"hvac_setpoint", S_CONST, K_HVAC_SP, 0},
    {"hvac_state", S_HVAC_STATE, 0, 0},   {"outdoor_temp", S_OUT_T, 0, 0},
    {"equipment_room_temp", S_EQUIP_T, 0, 0},
    {"fire_panel_state", S_CONST, K_FIRE_STATE, 0},
    {"fire_alarm_count", S_CONST, K_FIRE_COUNT, 0},
    {"fire_fault_count", S_CONST, K_FIRE_COUNT, 0},
    {"fire_disabled_zones", S_CONST, K_FIRE_COUNT, 0},
    {"fire_panel_status", S_FIRE_WORD, 0, 0},
    {"mains_ok", S_MAINS, 0, 0},          {"mains_breaker_closed", S_MAINS_BRK, 0, 0},
    {"generator_breaker_closed", S_GEN_BRK, 0, 0},
    {"generator_auto", S_TRUE, 0, 0},
    {"drain_pump1_contactor", S_DRAIN_RUN, 0, 0},
    {"drain_pump2_contactor", S_DRAIN_RUN, 1, 0},
};

static const bind_def signal_defs[] = {
    {"upstream_entry_light", S_LIGHT, 0, 0},
    {"upstream_exit_light", S_LIGHT, 1, 0},
    {"downstream_entry_light", S_LIGHT, 2, 0},
    {"downstream_exit_light", S_LIGHT, 3, 0},
    {"detection_status", S_DET_WORD, 0, 0},
    {"vessels_in_chamber", S_IN_CHAMBER, 0, 0},
    {"queue_upstream", S_QUEUE, UP, 0},   {"queue_downstream", S_QUEUE, DOWN, 0},
    {"vessels_passed", S_PASSED, 0, 0},   {"current_vessel", S_VESSEL, 0, 0},
    {"current_vessel_dwt", S_VESSEL_DWT, 0, 0},
    {"current_vessel_draught", S_VESSEL_DRAUGHT, 0, 0},
    {"broadcast_state", S_BROADCAST, 0, 0},
    {"cctv_status", S_CCTV_WORD, 0, 0},   {"cameras_online", S_CAMS, 0, 0},
    {"nvr_state", S_ZERO, 0, 0},          {"nvr_disk_usage", S_NVR_DISK, 0, 0},
    {"wind_speed", S_WIND, 0, 0},         {"visibility", S_VIS, 0, 0},
    {"upper_gate_beam", S_BEAM, UP, 0},   {"lower_gate_beam", S_BEAM, DOWN, 0},
    {"upstream_horn", S_HORN, UP, 0},     {"downstream_horn", S_HORN, DOWN, 0},
    {"broadcast_amplifier", S_AMPLIFIER, 0, 0},
};

static const bind_def lockage_defs[] = {
    {"lockage_state", S_K_STATE, 0, 0},   {"phase", S_K_PHASE, 0, 0},
    {"direction", S_K_DIR, 0, 0},         {"phase_elapsed", S_K_PHASE_T, 0, 0},
    {"lockage_elapsed", S_K_LOCK_T, 0, 0},
    {"remaining_estimate", S_K_REMAIN, 0, 0},
    {"lockage_count", S_K_COUNT, 0, 0},   {"upbound_count", S_K_UP, 0, 0},
    {"downbound_count", S_K_DOWN, 0, 0},  {"tonnage_passed", S_K_TONNAGE, 0, 0},
    {"last_cycle_time", S_K_LAST_CYCLE, 0, 0},
    {"last_fill_time", S_K_LAST_FILL, 0, 0},
    {"last_empty_time", S_K_LAST_EMPTY, 0, 0},
    {"last_gate_travel", S_K_LAST_TRAVEL, 0, 0},
    {"control_status", S_K_WORD, 0, 0},   {"lockage_id", S_K_ID, 0, 0},
    {"lockages_today", S_K_TODAY, 0, 0},  {"vessels_today", S_K_VESSELS_TODAY, 0, 0},
    {"plc_uptime", S_K_UPTIME, 0, 0},
};

#define DEFS(x) x, sizeof x / sizeof x[0]

static bool find_def(const bind_def *defs, size_t n, const char *name,
                     struct binding *out)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(defs[i].name, name) == 0) {
            out->sig = defs[i].sig;
            out->a = defs[i].a;
            out->b = defs[i].b;
            return true;
        }
    }
    return false;
}

/* Binds a tag of a family PLC: "<prefix><field>" with the prefix giving
 * index a (or b for gate leaves). */
static bool find_prefixed(const char *const *prefixes, size_t np,
                          const bind_def *defs, size_t n, const char *id,
                          struct binding *out, bool index_b)
{
    for (size_t i = 0; i < np; i++) {
        size_t len = strlen(prefixes[i]);
        if (strncmp(id, prefixes[i], len) == 0 &&
            find_def(defs, n, id + len, out)) {
            if (index_b)
                out->b = (uint8_t)i;
            else
                out->a = (uint8_t)i;
            return true;
        }
    }
    return false;
}

static struct binding bind_tag(const map_plc *plc, const map_tag *t)
{
    static const char *const leaves[] = {"left_leaf_", "right_leaf_"};
    static const char *const valves[] = {
        "upper_left_", "upper_right_", "lower_left_", "lower_right_",
    };
    static const char *const units[] = {"upper_", "lower_"};
    struct binding b = {0};
    const char *id = t->id;
    if (strcmp(plc->id, "upper_gate") == 0 ||
        strcmp(plc->id, "lower_gate") == 0) {
        uint8_t g = plc->id[0] == 'u' ? UP : DOWN;
        if (find_prefixed(leaves, 2, DEFS(leaf_defs), id, &b, true) ||
            find_def(DEFS(gate_defs), id, &b))
            b.a = g;
        if (b.sig == S_CONST)
            b.a = strcmp(id, "sync_limit") == 0 ? K_SYNC_LIMIT : K_HEAD_LIMIT;
    } else if (strcmp(plc->id, "valves") == 0) {
        if (!find_prefixed(valves, 4, DEFS(valve_defs), id, &b, false))
            find_def(DEFS(valves_misc_defs), id, &b);
    } else if (strcmp(plc->id, "levels") == 0) {
        find_def(DEFS(level_defs), id, &b);
    } else if (strcmp(plc->id, "hpu") == 0) {
        if (!find_def(DEFS(hpu_misc_defs), id, &b) &&
            find_prefixed(units, 2, DEFS(hpu_defs), id, &b, false) &&
            b.sig == S_CONST)
            find_def(DEFS(hpu_defs), id + strlen(units[b.a]), &b);
    } else if (strcmp(plc->id, "power") == 0) {
        find_def(DEFS(power_defs), id, &b);
    } else if (strcmp(plc->id, "signals") == 0) {
        find_def(DEFS(signal_defs), id, &b);
    } else if (strcmp(plc->id, "lockage") == 0) {
        find_def(DEFS(lockage_defs), id, &b);
    }
    return b;
}

/* A bool taken from a register bit reads the status word at the same
 * address, so the word and its bits come from one composition. */
static void bind_bits(const map_plc *plc, struct binding *tb)
{
    for (size_t i = 0; i < plc->n_tags; i++) {
        const map_tag *t = &plc->tags[i];
        if (t->type != MAP_BOOL || t->bit < 0 || map_table_is_bits(t->table))
            continue;
        for (size_t j = 0; j < plc->n_tags; j++) {
            const map_tag *w = &plc->tags[j];
            if (w->type != MAP_BOOL && w->table == t->table &&
                w->address == t->address && tb[j].sig != S_NONE) {
                tb[i] = tb[j];
                break;
            }
        }
    }
}

/* ---- values --------------------------------------------------------------- */

static int leaf_state(const plant *p, int g, int l)
{
    const leaf *lf = &p->g[g].lf[l];
    if (lf->pos >= 100.0)
        return 2;
    if (lf->pos <= 0.0 && p->g[g].cmd <= 0)
        return 0;
    if (p->g[g].cmd > 0)
        return 1;
    if (p->g[g].cmd < 0)
        return 3;
    return 4;
}

static uint16_t leaf_word(const plant *p, int g, int l)
{
    const leaf *lf = &p->g[g].lf[l];
    uint16_t w = 1u << 6;  /* remote */
    w |= lf->pos >= 100.0 ? 1u << 0 : 0;
    w |= lf->pos <= 0.0 ? 1u << 1 : 0;
    w |= lf->vel > 0 ? 1u << 2 : 0;
    w |= lf->vel < 0 ? 1u << 3 : 0;
    w |= lf->vel != 0 ? 1u << 8 : 0;
    return w;
}

static double sync_dev_mm(const plant *p, int g)
{
    return (p->g[g].lf[0].pos - p->g[g].lf[1].pos) * p->g[g].stroke_mm / 100;
}

static uint16_t gate_word(const plant *p, int g)
{
    bool head_ok = fabs(gate_head(p, g)) < GATE_HEAD_LIMIT;
    bool ready = hpu_ready(p, g);
    uint16_t w = 1u << 0;  /* remote mode */
    w |= head_ok ? 1u << 2 : 0;
    w |= head_ok && ready ? 1u << 3 : 0;
    w |= ready ? 1u << 4 : 0;
    w |= fabs(sync_dev_mm(p, g)) > SYNC_LIMIT_MM ? 1u << 5 : 0;
    return w;
}

static int gate_state(const plant *p, int g)
{
    int a = leaf_state(p, g, 0), b = leaf_state(p, g, 1);
    if (a == b)
        return a;
    if (a == 1 || b == 1)
        return 1;
    if (a == 3 || b == 3)
        return 3;
    return 4;
}

static uint16_t valve_word(const plant *p, int i)
{
    const valve *v = &p->v[i];
    uint16_t w = 1u << 5;  /* remote */
    w |= v->pos >= 100.0 ? 1u << 0 : 0;
    w |= v->pos <= 0.0 ? 1u << 1 : 0;
    w |= v->vel > 0 ? 1u << 2 : 0;
    w |= v->vel < 0 ? 1u << 3 : 0;
    w |= v->vel != 0 ? 1u << 8 : 0;
    return w;
}

static int valve_state(const plant *p, int i)
{
    const valve *v = &p->v[i];
    if (v->vel > 0)
        return 1;
    if (v->vel < 0)
        return 3;
    return v->pos <= 0.0 ? 0 : 2;
}

static double level_true(const plant *p, int i)
{
    return i == 0 ? p->up : i == 1 ? p->ch : p->dn;
}

static double phase_volt(const plant *p, int i)
{
    if (!p->mains)
        return 0.0;
    static const double off[3] = {0.0, -1.1, 0.7};
    return 231.0 + p->v_drift + off[i] - 0.012 * p->p_kw;
}

static double apparent_kva(const plant *p)
{
    return sqrt(p->p_kw * p->p_kw + p->q_kvar * p->q_kvar);
}

static double ups_load(const plant *p)
{
    return 38.0 + 3.0 * sin(2 * M_PI * p->t / 1800.0) +
           (p->phase != PH_IDLE ? 2.0 : 0.0);
}

static int light_state(const plant *p, int which)
{
    /* which: 0 upstream entry, 1 upstream exit, 2 downstream entry,
     * 3 downstream exit.  Green only with that side's gate fully open. */
    int side = which < 2 ? UP : DOWN;
    bool entry_light = (which & 1) == 0;
    if (!gate_open(p, side)) {
        if (entry_light && p->phase == PH_OPEN_ENTRY && p->entry == side)
            return 3;
        return 1;
    }
    if (entry_light && p->phase == PH_ENTER && p->entry == side &&
        p->n_moving > 0)
        return 2;
    if (!entry_light && p->phase == PH_LEAVE && p->entry != side &&
        p->nch > 0)
        return 2;
    return 1;
}

static uint16_t detection_word(const plant *p)
{
    int zone = -1;  /* the gate a vessel is passing now */
    if (p->passing)
        zone = p->phase == PH_ENTER ? p->entry : 1 - p->entry;
    uint16_t w = 0;
    w |= p->nq[UP] > 0 ? 1u << 0 : 0;
    w |= zone == UP ? 1u << 1 : 0;
    w |= p->nch > 0 || p->passing ? 1u << 2 : 0;
    w |= zone == DOWN ? 1u << 3 : 0;
    w |= p->nq[DOWN] > 0 ? 1u << 4 : 0;
    return w;
}

static uint16_t cctv_word(const plant *p)
{
    return p->cam_off_t > 0 ? 0xFF & ~(1u << 5) : 0xFF;
}

static const vessel *current_vessel(const plant *p)
{
    if (p->passing)
        return &p->cur;
    if (p->nch > 0)
        return &p->cham[0];
    return NULL;
}

static double eval(const plant *p, struct binding b)
{
    int a = b.a, k = b.b;
    switch (b.sig) {
    case S_LEAF_POS: return p->g[a].lf[k].pos;
    case S_LEAF_MM: return p->g[a].lf[k].pos * p->g[a].stroke_mm / 100;
    case S_LEAF_SPEED: return p->g[a].lf[k].vel * p->g[a].stroke_mm / 100;
    case S_LEAF_CAP: return p->g[a].lf[k].p_cap;
    case S_LEAF_ROD: return p->g[a].lf[k].p_rod;
    case S_LEAF_WORD: return leaf_word(p, a, k);
    case S_LEAF_STATE: return leaf_state(p, a, k);
    case S_LEAF_FAULT: return 0;
    case S_LEAF_OPS: return p->g[a].lf[k].ops;
    case S_LEAF_LAST: return p->g[a].lf[k].last_travel;
    case S_LEAF_SPEED_SP: return p->g[a].lf[k].rate * p->g[a].stroke_mm / 100;
    case S_LEAF_PLIMIT: return 16.0;
    case S_SYNC_DEV: return sync_dev_mm(p, a);
    case S_GATE_STATE: return gate_state(p, a);
    case S_GATE_WORD: return gate_word(p, a);
    case S_GATE_HEAD: return gate_head(p, a);
    case S_GATE_CYCLES: return p->g[a].cycles;
    case S_HEARTBEAT: return fmod(floor(p->t), 65536.0);
    case S_SCAN_TIME: return 8 + ((long)(p->t * 3) + a) % 3;
    case S_FALSE: case S_ZERO: return 0;
    case S_TRUE: return 1;
    case S_SOL_OPEN: return p->g[a].lf[k].vel > 0;
    case S_SOL_CLOSE: return p->g[a].lf[k].vel < 0;
    case S_GATE_HORN: return p->g[a].horn_t > 0;

    case S_V_POS: return p->v[a].pos;
    case S_V_LIFT: return p->v[a].pos * VALVE_LIFT_MM / 100;
    case S_V_PRESS: return p->v[a].p;
    case S_V_WORD: return valve_word(p, a);
    case S_V_STATE: return valve_state(p, a);
    case S_V_FLOW: return p->v[a].flow;
    case S_V_SP: return p->v[a].target;
    case S_V_OPS: return p->v[a].ops;
    case S_V_SOL_OPEN: return p->v[a].vel > 0;
    case S_V_SOL_CLOSE: return p->v[a].vel < 0;
    case S_CULVERT: {
        /* culvert floor 2 m above datum; an open valve adds part of the
         * head upstream of it */
        double open = (p->v[2 * a].pos + p->v[2 * a + 1].pos) / 200.0;
        double dh = fabs(side_level(p, a) - p->ch);
        double lvl = a == UP ? p->ch + 0.35 * dh * open
                             : p->ch - 0.6 * dh * open;
        return GRAV * (lvl - 2.0);
    }

    case S_LEVEL: return level_true(p, a) + p->noise[a];
    case S_LEVEL_B: return level_true(p, a) + p->b_off[a];
    case S_HEAD:  /* from the same readings as the levels themselves */
        return a == UP ? p->up + p->noise[0] - p->ch - p->noise[1]
                       : p->ch + p->noise[1] - p->dn - p->noise[2];
    case S_RATE: return p->ch_rate * 60.0;
    case S_SENSOR_WORD: return 0x3F;  /* all six transmitters healthy */
    case S_LOOP_MA: return 4.0 + 16.0 * (level_true(p, a) + p->noise[a]) / 30;
    case S_WATER_T: return 17.5 + 0.2 * (p->out_t - 26.0);
    case S_CONST: return settings[a];
    case S_SWITCH:
        switch (a) {
        case 0: return p->up > settings[K_UP_HIGH];
        case 1: return p->up < settings[K_UP_LOW];
        case 2: return p->dn > settings[K_DN_HIGH];
        default: return p->dn < settings[K_DN_LOW];
        }

    case S_H_WORD: return hpu_word(p, a);
    case S_H_PRESS: return p->h[a].press;
    case S_H_TEMP: return p->h[a].temp;
    case S_H_LEVEL: return hpu_oil_level(p, a);
    case S_H_CURRENT: return pump_current(p, a, k);
    case S_H_DP: return hpu_filter_dp(p, a);
    case S_H_ACC: return p->h[a].acc;
    case S_H_LEAD: return p->h[a].lead + 1;
    case S_H_STATE:
        if (!p->h[a].run[0] && !p->h[a].run[1])
            return 0;
        return p->h[a].demand ? 1 : 2;
    case S_H_HOURS: return p->h[a].hours[k];
    case S_H_STARTS: return p->h[a].starts[k];
    case S_PUMPROOM_T: return p->pumproom_t;

    case S_VOLT: return phase_volt(p, a);
    case S_VOLT_LL: {
        double x = phase_volt(p, a), y = phase_volt(p, k);
        return sqrt(x * x + y * y + x * y);  /* phases 120 degrees apart */
    }
    case S_AMP: {
        static const double imb[3] = {1.0, 0.97, 1.03};
        double v = phase_volt(p, a);
        return v > 0 ? apparent_kva(p) * 1000.0 / (3.0 * v) * imb[a] : 0.0;
    }
    case S_KW: return p->p_kw;
    case S_KVAR: return p->q_kvar;
    case S_KVA: return apparent_kva(p);
    case S_PF: return apparent_kva(p) > 0 ? p->p_kw / apparent_kva(p) : 0.0;
    case S_FREQ: return p->mains ? 50.0 + p->freq_dev : 0.0;
    case S_KWH: return floor(p->kwh * 10.0) / 10.0;
    case S_KVARH: return floor(p->kvarh * 10.0) / 10.0;
    case S_WH: return floor(p->kwh * 1000.0);
    case S_DEMAND: return floor(p->demand_kw * 1000.0);
    case S_TR_TEMP: return p->tr_temp[a];
    case S_TR_WORD: {
        double tmax = fmax(p->tr_temp[0], fmax(p->tr_temp[1], p->tr_temp[2]));
        return (tmax > 90 ? 1 : 0) | (tmax > 130 ? 2 : 0) | (tmax > 150 ? 4 : 0);
    }
    case S_TR_LOAD: return apparent_kva(p) / 400.0 * 100.0;
    case S_GEN_STATE: return p->gen_state;
    case S_GEN_BATT: return p->gen_batt;
    case S_GEN_FUEL: return p->fuel;
    case S_GEN_V:
        return p->gen_state == GEN_RUNNING || p->gen_state == GEN_COOLDOWN
                   ? 400.0 + 0.5 * p->v_drift : 0.0;
    case S_GEN_KW:
        if (p->gen_breaker)
            return p->motor_kw + BASE_KW + lighting_kw(p);
        return p->gen_state == GEN_RUNNING ? 3.0 : 0.0;
    case S_GEN_COOLANT: return p->coolant;
    case S_GEN_HOURS: return p->gen_hours;
    case S_UPS_BATT: return p->ups_batt;
    case S_UPS_WORD: {
        bool on_batt = !bus_live(p);
        return (on_batt ? 1 : 0) | (p->ups_batt < 30 ? 2 : 0) |
               (!on_batt && p->ups_batt < 100 ? 16 : 0);
    }
    case S_UPS_LOAD: return ups_load(p);
    case S_UPS_RUNTIME: return floor(45.0 * 40.0 / ups_load(p) * p->ups_batt / 100);
    case S_UPS_BATT_V:
        return bus_live(p) ? (p->ups_batt < 100 ? 55.2 : 54.6)
                           : 48.0 + 4.0 * p->ups_batt / 100;
    case S_UPS_IN_V: return bus_live(p) ? 230.0 + p->v_drift : 0.0;
    case S_UPS_OUT_V: return 230.0;
    case S_SUMP: return p->sump;
    case S_DRAIN_WORD:
        return (p->drain_run[0] ? 1 : 0) | (p->drain_run[1] ? 2 : 0) |
               (p->sump > 2.8 ? 16 : 0) | 32;
    case S_DRAIN_AMP: return p->drain_run[a] ? 10.6 + 0.3 * sin(p->t) : 0.0;
    case S_DRAIN_HOURS: return p->drain_hours[a];
    case S_DRAIN_RUN: return p->drain_run[a];
    case S_LIGHT_WORD: {
        bool night = lights_on(p);
        double now = tod(p);
        bool work = now >= 7.5 * 3600 && now < 17.5 * 3600;
        return (night ? 0x2F : 0) | (night || work ? 0x10 : 0);
    }
    case S_LUX: return floor(daylight_lux(p));
    case S_ROOM_T: return p->room_t;
    case S_ROOM_RH: return p->room_rh;
    case S_HVAC_STATE: return p->cooling ? 1 : 3;
    case S_OUT_T: return p->out_t;
    case S_EQUIP_T: return p->equip_t;
    case S_FIRE_WORD: return bus_live(p) ? 16 : 0;
    case S_MAINS: return p->mains;
    case S_MAINS_BRK: return p->mains && p->retransfer_t <= 0;
    case S_GEN_BRK: return p->gen_breaker;

    case S_LIGHT: return light_state(p, a);
    case S_DET_WORD: return detection_word(p);
    case S_IN_CHAMBER: return p->nch;
    case S_QUEUE: return p->nq[a];
    case S_PASSED: return p->passed;
    case S_VESSEL_DWT: {
        const vessel *v = current_vessel(p);
        return v ? v->dwt : 0;
    }
    case S_VESSEL_DRAUGHT: {
        const vessel *v = current_vessel(p);
        return v ? v->draught : 0.0;
    }
    case S_BROADCAST: return p->broadcast_t > 0 ? 1 : 0;
    case S_AMPLIFIER: return p->broadcast_t > 0;
    case S_CCTV_WORD: return cctv_word(p);
    case S_CAMS: return p->cam_off_t > 0 ? 7 : 8;
    case S_NVR_DISK: return p->nvr_disk;
    case S_WIND: return p->wind;
    case S_VIS: {
        /* morning mist between 05:00 and 08:00 */
        double now = tod(p) / 3600.0;
        double mist = now > 5 && now < 8 ? sin(M_PI * (now - 5) / 3) : 0;
        return floor(clampd(8500.0 - 6000.0 * mist + p->vis_dev, 200, 10000));
    }
    case S_BEAM: {
        uint16_t w = detection_word(p);
        return a == UP ? (w >> 1) & 1 : (w >> 3) & 1;
    }
    case S_HORN: return p->horn_t[a] > 0;

    case S_K_STATE:
        if (p->phase != PH_IDLE)
            return p->dir;
        return suspended(p) ? 3 : 0;
    case S_K_PHASE: return p->phase;
    case S_K_DIR: return p->dir;
    case S_K_PHASE_T: return p->phase == PH_IDLE ? 0 : floor(p->phase_t);
    case S_K_LOCK_T: return p->phase == PH_IDLE ? 0 : floor(p->lock_t);
    case S_K_REMAIN: return ceil(remaining_estimate(p) / 60.0);
    case S_K_COUNT: return p->lockages;
    case S_K_UP: return p->upbound;
    case S_K_DOWN: return p->downbound;
    case S_K_TONNAGE: return p->tonnage;
    case S_K_LAST_CYCLE: return floor(p->last_cycle);
    case S_K_LAST_FILL: return floor(p->last_fill);
    case S_K_LAST_EMPTY: return floor(p->last_empty);
    case S_K_LAST_TRAVEL: return floor(p->last_gate);
    case S_K_WORD:
        return 1 | 2 | (p->phase != PH_IDLE ? 8 : 0) | (suspended(p) ? 16 : 0);
    case S_K_TODAY: return p->today_lockages;
    case S_K_VESSELS_TODAY: return p->today_vessels;
    case S_K_UPTIME: return floor(3.0 * DAY + p->t);
    default: return 0;
    }
}

static void eval_str(const plant *p, struct binding b, char *buf, size_t len)
{
    buf[0] = '\0';
    if (b.sig == S_VESSEL) {
        const vessel *v = current_vessel(p);
        if (v)
            snprintf(buf, len, "%s", v->name);
    } else if (b.sig == S_K_ID) {
        /* the lockage in progress, else the last one */
        unsigned n = p->lockages + (p->phase != PH_IDLE ? 1 : 0);
        snprintf(buf, len, "L1-%06u", n);
    }
}

/* The engineering range a tag's raw type can carry, for clamping. */
static void type_limits(const map_tag *t, double *lo, double *hi)
{
    double rlo, rhi;
    switch (t->type) {
    case MAP_U16: rlo = 0; rhi = 65535.0; break;
    case MAP_I16: rlo = -32768.0; rhi = 32767.0; break;
    case MAP_U32: rlo = 0; rhi = 4294967295.0; break;
    case MAP_I32: rlo = -2147483648.0; rhi = 2147483647.0; break;
    case MAP_U64: rlo = 0; rhi = 9.2e18; break;
    case MAP_I64: rlo = -9.2e18; rhi = 9.2e18; break;
    default: *lo = -HUGE_VAL; *hi = HUGE_VAL; return;
    }
    double a = rlo * t->scale + t->offset, b = rhi * t->scale + t->offset;
    *lo = fmin(a, b);
    *hi = fmax(a, b);
}

int plant_value(const plant *p, const map_plc *plc, const map_tag *t,
                val *out)
{
    if (!p || !plc || !t || !out || plc < p->st->plcs ||
        plc >= p->st->plcs + p->st->n_plcs || t < plc->tags ||
        t >= plc->tags + plc->n_tags)
        return -1;
    struct binding b = p->bind[plc - p->st->plcs][t - plc->tags];
    if (b.sig == S_NONE)
        return -1;

    memset(out, 0, sizeof *out);
    if (t->type == MAP_STRING) {
        size_t cap = (size_t)t->length * 2 + 1;
        if (cap > sizeof out->s)
            cap = sizeof out->s;
        eval_str(p, b, out->s, cap);
        out->kind = VAL_STR;
        return 0;
    }
    double x = eval(p, b);
    if (t->type == MAP_BOOL) {
        out->kind = VAL_BOOL;
        if (t->bit >= 0 && !map_table_is_bits(t->table))
            out->b = (((uint64_t)llround(x)) >> t->bit) & 1u;
        else
            out->b = x != 0;
        return 0;
    }
    double lo, hi;
    type_limits(t, &lo, &hi);
    x = clampd(x, lo, hi);
    if (t->scaled || t->type == MAP_F32 || t->type == MAP_F64) {
        out->kind = VAL_REAL;
        out->d = x;
    } else {
        out->kind = VAL_INT;
        out->i = llround(x);
    }
    return 0;
}

/* ---- life cycle ------------------------------------------------------------ */

static void init_state(plant *p)
{
    p->up = UPSTREAM_MEAN + rnd_range(p, -0.03, 0.03);
    p->dn = DOWNSTREAM_MEAN + rnd_range(p, -0.03, 0.03);
    p->ch = p->dn;
    for (int i = 0; i < 3; i++)
        p->b_off[i] = rnd_range(p, -0.02, 0.02);

    /* The lower gate (which holds the bigger head) is taller and slower. */
    static const double travel[2][2] = {{165.0, 171.0}, {188.0, 196.0}};
    for (int g = 0; g < 2; g++) {
        p->g[g].stroke_mm = g == UP ? 3800.0 : 4600.0;
        p->g[g].cycles = g == UP ? 21460 : 21452;
        for (int l = 0; l < 2; l++) {
            leaf *lf = &p->g[g].lf[l];
            lf->rate = 100.0 / travel[g][l];
            lf->pos = g == DOWN ? 100.0 : 0.0;  /* open to downstream */
            lf->p_cap = 0.8;
            lf->p_rod = 0.6;
            lf->ops = 2 * p->g[g].cycles + (g == DOWN ? 1 : 0);
            lf->last_travel = travel[g][l] * 1.06;
        }
    }
    for (int i = 0; i < 4; i++) {
        p->v[i].rate_open = 100.0 / 60.0;
        p->v[i].rate_close = 100.0 / 55.0;
        p->v[i].p = 0.5;
        p->v[i].ops = 2 * 10730 + (uint32_t)i;
    }
    for (int u = 0; u < 2; u++) {
        hpu *hp = &p->h[u];
        hp->press = 0.3;
        hp->acc = 11.5;
        hp->temp = 28.0;
        hp->clog = rnd_range(p, 0.02, 0.12);
        hp->hours[0] = 5120.4 + 37 * u;
        hp->hours[1] = 5098.7 + 41 * u;
        hp->starts[0] = 11020 + 13 * (uint32_t)u;
        hp->starts[1] = 11018 + 17 * (uint32_t)u;
    }
    p->lockages = 18250;
    p->upbound = 9126;
    p->downbound = 9124;
    p->tonnage = 23817400;
    p->passed = 52107;
    p->last_cycle = 2460;
    p->last_fill = 640;
    p->last_empty = 655;
    p->last_gate = 176;

    p->mains = true;
    p->next_outage = rnd_exp(p, 36.0 * 3600);
    p->gen_hours = 412.6;
    p->fuel = 86.0;
    p->coolant = 42.0;
    p->gen_batt = 27.3;
    p->kwh = 1284567.8;
    p->kvarh = 402118.3;
    p->demand_kw = 30.0;
    p->ups_batt = 100.0;
    p->sump = 1.2;
    p->drain_hours[0] = 3310.2;
    p->drain_hours[1] = 3296.8;
    p->out_t = 24.0;
    p->room_t = 24.2;
    p->room_rh = 55.0;
    p->equip_t = 26.0;
    p->pumproom_t = 18.5;
    for (int i = 0; i < 3; i++)
        p->tr_temp[i] = 38.0;
    p->wind = 3.5;
    p->nvr_disk = 84.0;
    p->next_cam_drop = rnd_exp(p, 3.0 * 3600);
    p->day = (long)floor(START_TIME_OF_DAY / DAY);

    /* Vessels are already waiting when the station comes up. */
    for (int i = 0; i < 2; i++)
        make_vessel(p, &p->q[DOWN][p->nq[DOWN]++]);
    make_vessel(p, &p->q[UP][p->nq[UP]++]);
    for (int s = 0; s < 2; s++)
        p->next_arrival[s] = rnd_exp(p, 3600.0 / ARRIVALS_PER_HOUR);
}

plant *plant_new(const map_station *st, uint64_t seed)
{
    if (!st)
        return NULL;
    plant *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->st = st;
    uint64_t s = seed;
    p->rng = splitmix64(&s);
    if (p->rng == 0)
        p->rng = 0x9E3779B97F4A7C15ull;  /* xorshift must not start at 0 */

    p->bind = calloc(st->n_plcs ? st->n_plcs : 1, sizeof *p->bind);
    if (!p->bind)
        goto fail;
    for (size_t i = 0; i < st->n_plcs; i++) {
        const map_plc *plc = &st->plcs[i];
        p->bind[i] = calloc(plc->n_tags ? plc->n_tags : 1,
                            sizeof **p->bind);
        if (!p->bind[i])
            goto fail;
        for (size_t j = 0; j < plc->n_tags; j++)
            p->bind[i][j] = bind_tag(plc, &plc->tags[j]);
        bind_bits(plc, p->bind[i]);
    }
    init_state(p);
    return p;

fail:
    plant_free(p);
    return NULL;
}

void plant_free(plant *p)
{
    if (!p)
        return;
    if (p->bind) {
        for (size_t i = 0; i < p->st->n_plcs; i++)
            free(p->bind[i]);
        free(p->bind);
    }
    free(p);
}

void plant_describe(const plant *p, char *buf, size_t len)
{
    static const char *const phases[] = {
        "idle", "preparing", "opening entry gate", "vessels entering",
        "closing entry gate", "levelling", "opening exit gate",
        "vessels leaving",
    };
    if (!p || !buf || len == 0)
        return;
    const char *what = p->phase == PH_IDLE ? "no lockage"
                       : p->dir == DIR_UP ? "upbound lockage"
                                          : "downbound lockage";
    const char *ph = phases[p->phase];
    if (p->phase == PH_LEVEL)
        ph = p->dir == DIR_UP ? "filling" : "emptying";
    int secs = (int)tod(p);
    snprintf(buf, len,
             "%02d:%02d %s, %s, chamber %.2f m (up %.2f, down %.2f), "
             "queues %d up/%d down, %u lockages%s",
             secs / 3600, secs / 60 % 60, what, ph, p->ch, p->up, p->dn,
             p->nq[UP], p->nq[DOWN], p->lockages,
             p->mains ? "" : ", MAINS FAILED");
}
