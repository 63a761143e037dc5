// A small C API over Box2D (C++) for the LunarLander environment: one world
// holding the moon (ground edges), the lander body and its two legs, with a
// contact listener that reports ground contacts. Swift owns the game logic
// (terrain, engines, rewards); this shim owns the Box2D objects.
#ifndef POPS_CBOX2D_H
#define POPS_CBOX2D_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pops_lander_world pops_lander_world;

/// Kinematic state read back after a step.
typedef struct {
  double x, y;              // lander position (world units)
  double vx, vy;            // lander linear velocity
  double angle;             // lander angle (radians)
  double angular_velocity;  // lander angular velocity
  int awake;                // 0 once Box2D put the lander to sleep
  int leg_contact[2];       // legs touching the ground
  int lander_contact;       // the lander body itself touched something (crash)
} pops_lander_state;

/// Geometry and physics of one episode, in world units.
typedef struct {
  double gravity;               // negative: downwards
  const double *terrain_x;      // ground polyline, `terrain_count` points
  const double *terrain_y;
  int terrain_count;
  double ground_width;          // the bottom edge spans 0..ground_width
  const double *lander_vertices;  // x0, y0, x1, y1, ... (`lander_vertex_count` points)
  int lander_vertex_count;
  double start_x, start_y;
  double leg_away, leg_down;    // leg attachment offsets
  double leg_half_width, leg_half_height;
  double leg_spring_torque;
} pops_lander_setup;

/// Creates a world with the moon, lander and legs; NULL on failure.
pops_lander_world *pops_lander_create(const pops_lander_setup *setup);
/// Destroys the world and every body in it.
void pops_lander_destroy(pops_lander_world *world);

void pops_lander_apply_force_to_center(pops_lander_world *world, double fx, double fy);
void pops_lander_apply_torque(pops_lander_world *world, double torque);
void pops_lander_apply_linear_impulse(pops_lander_world *world, double ix, double iy, double px, double py);
/// Advances the world by `dt` seconds.
void pops_lander_step(pops_lander_world *world, double dt, int velocity_iterations, int position_iterations);
void pops_lander_get_state(const pops_lander_world *world, pops_lander_state *state);
/// Number of bodies alive in the world (for leak checks).
int pops_lander_body_count(const pops_lander_world *world);
/// Number of worlds alive in the process (for leak checks).
int pops_lander_live_worlds(void);
/// Worlds created minus destroyed on the calling thread (for leak checks
/// while other threads create landers).
int pops_lander_thread_live_worlds(void);

#ifdef __cplusplus
}
#endif

#endif
