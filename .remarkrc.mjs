// Link check of README.md and docs/ (npm run lint:links): every relative link and heading
// anchor must resolve. Offline: remote URLs are not fetched.
import remarkValidateLinks from 'remark-validate-links';

export default {
  plugins: [[remarkValidateLinks, { repository: false }]],
};
