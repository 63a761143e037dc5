// Builds Gymnasium's LunarLander bodies with the system Box2D (2.4).
#include "CBox2D.h"

#include <atomic>
#include <box2d/box2d.h>
#include <vector>

namespace {

std::atomic<int> live_worlds{0};
// Worlds created minus worlds destroyed on this thread: a leak check that
// other threads creating landers at the same time cannot disturb.
thread_local int thread_live_worlds = 0;

struct ContactListener : public b2ContactListener {
  b2Body *lander = nullptr;
  b2Body *legs[2] = {nullptr, nullptr};
  int leg_contact[2] = {0, 0};
  int lander_contact = 0;

  void BeginContact(b2Contact *contact) override {
    b2Body *a = contact->GetFixtureA()->GetBody();
    b2Body *b = contact->GetFixtureB()->GetBody();
    if (a == lander || b == lander) lander_contact = 1;
    for (int i = 0; i < 2; i++) {
      if (a == legs[i] || b == legs[i]) leg_contact[i] = 1;
    }
  }

  void EndContact(b2Contact *contact) override {
    b2Body *a = contact->GetFixtureA()->GetBody();
    b2Body *b = contact->GetFixtureB()->GetBody();
    for (int i = 0; i < 2; i++) {
      if (a == legs[i] || b == legs[i]) leg_contact[i] = 0;
    }
  }
};

}  // namespace

struct pops_lander_world {
  b2World world;
  ContactListener listener;
  b2Body *moon = nullptr;
  b2Body *lander = nullptr;
  b2Body *legs[2] = {nullptr, nullptr};

  explicit pops_lander_world(double gravity) : world(b2Vec2(0.0f, (float)gravity)) {}
};

extern "C" {

pops_lander_world *pops_lander_create(const pops_lander_setup *s) {
  if (!s || s->terrain_count < 2 || s->lander_vertex_count < 3 || s->lander_vertex_count > b2_maxPolygonVertices) {
    return nullptr;
  }
  auto *w = new pops_lander_world(s->gravity);
  live_worlds++;
  thread_live_worlds++;
  w->world.SetContactListener(&w->listener);

  // The moon: a bottom edge plus one two-sided edge per terrain segment.
  b2BodyDef moonDef;
  w->moon = w->world.CreateBody(&moonDef);
  b2EdgeShape bottom;
  bottom.SetTwoSided(b2Vec2(0, 0), b2Vec2((float)s->ground_width, 0));
  b2FixtureDef bottomFixture;
  bottomFixture.shape = &bottom;
  w->moon->CreateFixture(&bottomFixture);
  for (int i = 0; i + 1 < s->terrain_count; i++) {
    b2EdgeShape edge;
    edge.SetTwoSided(b2Vec2((float)s->terrain_x[i], (float)s->terrain_y[i]),
                     b2Vec2((float)s->terrain_x[i + 1], (float)s->terrain_y[i + 1]));
    b2FixtureDef fd;
    fd.shape = &edge;
    fd.density = 0;
    fd.friction = 0.1f;
    w->moon->CreateFixture(&fd);
  }

  // The lander: a polygon that collides only with the ground.
  b2BodyDef landerDef;
  landerDef.type = b2_dynamicBody;
  landerDef.position.Set((float)s->start_x, (float)s->start_y);
  landerDef.angle = 0;
  w->lander = w->world.CreateBody(&landerDef);
  std::vector<b2Vec2> vertices;
  for (int i = 0; i < s->lander_vertex_count; i++) {
    vertices.emplace_back((float)s->lander_vertices[2 * i], (float)s->lander_vertices[2 * i + 1]);
  }
  b2PolygonShape hull;
  hull.Set(vertices.data(), (int32)vertices.size());
  b2FixtureDef landerFixture;
  landerFixture.shape = &hull;
  landerFixture.density = 5.0f;
  landerFixture.friction = 0.1f;
  landerFixture.filter.categoryBits = 0x0010;
  landerFixture.filter.maskBits = 0x001;
  landerFixture.restitution = 0.0f;
  w->lander->CreateFixture(&landerFixture);

  // Two legs on spring-loaded revolute joints with limits.
  for (int k = 0; k < 2; k++) {
    double i = k == 0 ? -1.0 : 1.0;
    b2BodyDef legDef;
    legDef.type = b2_dynamicBody;
    legDef.position.Set((float)(s->start_x - i * s->leg_away), (float)s->start_y);
    legDef.angle = (float)(i * 0.05);
    b2Body *leg = w->world.CreateBody(&legDef);
    b2PolygonShape box;
    box.SetAsBox((float)s->leg_half_width, (float)s->leg_half_height);
    b2FixtureDef legFixture;
    legFixture.shape = &box;
    legFixture.density = 1.0f;
    legFixture.restitution = 0.0f;
    legFixture.filter.categoryBits = 0x0020;
    legFixture.filter.maskBits = 0x001;
    leg->CreateFixture(&legFixture);

    b2RevoluteJointDef rjd;
    rjd.bodyA = w->lander;
    rjd.bodyB = leg;
    rjd.localAnchorA.Set(0, 0);
    rjd.localAnchorB.Set((float)(i * s->leg_away), (float)s->leg_down);
    rjd.enableMotor = true;
    rjd.enableLimit = true;
    rjd.maxMotorTorque = (float)s->leg_spring_torque;
    rjd.motorSpeed = (float)(0.3 * i);
    if (k == 0) {
      rjd.lowerAngle = 0.9f - 0.5f;
      rjd.upperAngle = 0.9f;
    } else {
      rjd.lowerAngle = -0.9f;
      rjd.upperAngle = -0.9f + 0.5f;
    }
    w->world.CreateJoint(&rjd);
    w->legs[k] = leg;
  }
  w->listener.lander = w->lander;
  w->listener.legs[0] = w->legs[0];
  w->listener.legs[1] = w->legs[1];
  return w;
}

void pops_lander_destroy(pops_lander_world *w) {
  if (!w) return;
  w->world.SetContactListener(nullptr);
  delete w;  // b2World's destructor frees every body, fixture and joint
  live_worlds--;
  thread_live_worlds--;
}

void pops_lander_apply_force_to_center(pops_lander_world *w, double fx, double fy) {
  w->lander->ApplyForceToCenter(b2Vec2((float)fx, (float)fy), true);
}

void pops_lander_apply_torque(pops_lander_world *w, double torque) {
  w->lander->ApplyTorque((float)torque, true);
}

void pops_lander_apply_linear_impulse(pops_lander_world *w, double ix, double iy, double px, double py) {
  w->lander->ApplyLinearImpulse(b2Vec2((float)ix, (float)iy), b2Vec2((float)px, (float)py), true);
}

void pops_lander_step(pops_lander_world *w, double dt, int velocity_iterations, int position_iterations) {
  w->world.Step((float)dt, velocity_iterations, position_iterations);
}

void pops_lander_get_state(const pops_lander_world *w, pops_lander_state *s) {
  const b2Vec2 &p = w->lander->GetPosition();
  const b2Vec2 &v = w->lander->GetLinearVelocity();
  s->x = p.x;
  s->y = p.y;
  s->vx = v.x;
  s->vy = v.y;
  s->angle = w->lander->GetAngle();
  s->angular_velocity = w->lander->GetAngularVelocity();
  s->awake = w->lander->IsAwake() ? 1 : 0;
  s->leg_contact[0] = w->listener.leg_contact[0];
  s->leg_contact[1] = w->listener.leg_contact[1];
  s->lander_contact = w->listener.lander_contact;
}

int pops_lander_body_count(const pops_lander_world *w) { return w->world.GetBodyCount(); }

int pops_lander_live_worlds(void) { return live_worlds.load(); }

int pops_lander_thread_live_worlds(void) { return thread_live_worlds; }

}  // extern "C"
