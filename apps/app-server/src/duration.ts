// The one duration parser is @tether/transport's; this path stays while modules here still
// import it from './duration.js'.
export { parseDuration } from '@tether/transport';
