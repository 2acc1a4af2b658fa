import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import { setUnauthenticatedHandler } from './api/client';
import { useSessionStore } from './stores/session';

export const routes: RouteRecordRaw[] = [
  { path: '/', name: 'projects', component: () => import('./views/ProjectsView.vue'), meta: { title: 'Projects' } },
  {
    path: '/projects/:id',
    name: 'project',
    component: () => import('./views/ProjectView.vue'),
    props: true,
    meta: { title: 'Project' },
  },
  { path: '/projects/:id/label', name: 'label', component: () => import('./views/LabelingView.vue'), props: true, meta: { title: 'Label' } },
  {
    path: '/projects/:id/sessions/:sessionId',
    name: 'session',
    component: () => import('./views/LabelingView.vue'),
    props: true,
    meta: { title: 'Labeling session' },
  },
  { path: '/projects/:id/browse', name: 'browse', component: () => import('./views/BrowserView.vue'), props: true, meta: { title: 'Browse' } },
  {
    path: '/projects/:id/settings',
    name: 'settings',
    component: () => import('./views/ProjectSettingsView.vue'),
    props: true,
    meta: { title: 'Settings' },
  },
  {
    path: '/projects/:id/heuristics',
    name: 'heuristics',
    component: () => import('./views/HeuristicsView.vue'),
    props: true,
    meta: { title: 'Heuristics' },
  },
  {
    path: '/projects/:id/dashboard',
    name: 'dashboard',
    component: () => import('./views/DashboardView.vue'),
    props: true,
    meta: { title: 'Dashboard' },
  },
  { path: '/projects/:id/members', name: 'members', component: () => import('./views/MembersView.vue'), props: true, meta: { title: 'Members' } },
  { path: '/sign-in', name: 'sign-in', component: () => import('./views/SignInView.vue'), meta: { title: 'Sign in', public: true } },
  { path: '/crowd/:token', name: 'crowd', component: () => import('./views/CrowdView.vue'), props: true, meta: { title: 'Crowd labeling', public: true } },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue'), meta: { title: 'Not found' } },
];

export function createAppRouter() {
  const router = createRouter({ history: createWebHistory(import.meta.env.BASE_URL), routes });
  // Every page but the public ones needs a session; without one, go to /sign-in and come back after.
  router.beforeEach(async (to) => {
    if (to.meta['public']) return true;
    const me = await useSessionStore().load().catch(() => null);
    return me ? true : { name: 'sign-in', query: { next: to.fullPath } };
  });
  setUnauthenticatedHandler(() => {
    useSessionStore().forget();
    const current = router.currentRoute.value;
    if (!current.meta['public']) void router.replace({ name: 'sign-in', query: { next: current.fullPath } });
  });
  router.afterEach((to) => {
    const title = typeof to.meta['title'] === 'string' ? to.meta['title'] : '';
    document.title = title ? `${title} · refinery` : 'refinery';
  });
  return router;
}
